"""Uploaded certificate files: one test per reason a file is refused, each
asserting the exact message the uploader sees, and the accepted formats.

Every fixture is generated here (fpdf2 for ordinary PDFs, Pillow for images,
raw bytes for crafted PDFs), so no hostile file is committed to the repository.
"""

import base64
import binascii
import io
import random
import re
import struct
import time
import zlib

import fpdf
import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from registry import uploads
from registry.uploads import CheckedFile, UploadError, check_file, check_name

ACTIVE = "PDFs with scripts, actions, XFA forms or embedded files are not accepted."
ENCRYPTED = "The PDF is encrypted or password-protected; remove the password and upload again."
UNSUPPORTED = "Only PDF, PNG, JPEG and WebP files are accepted."
LOT = "KR-2291-B7"


# --------------------------------------------------------------------------- fixtures


def refused(data, filename="coa.pdf"):
    """The message check_file refuses ``data`` with."""
    with pytest.raises(UploadError) as caught:
        check_file(data, filename=filename)
    return str(caught.value)


def fpdf_document(pages=1, text=f"Lot {LOT}"):
    pdf = fpdf.FPDF()
    pdf.set_font("helvetica", size=12)
    for number in range(pages):
        pdf.add_page()
        pdf.cell(text=f"{text} page {number + 1}")
    return pdf


def fpdf_bytes(pages=1, text=f"Lot {LOT}"):
    return bytes(fpdf_document(pages, text).output())


def image_bytes(fmt, size=(64, 48), mode="RGB", noise=False, **options):
    if noise:
        bands = len(mode)
        image = Image.frombytes(mode, size, random.Random(0).randbytes(size[0] * size[1] * bands))
    else:
        image = Image.new(mode, size, "teal" if mode != "L" else 128)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_claiming(width, height):
    """A real 1x1 PNG whose header claims ``width`` x ``height`` (CRC fixed)."""
    png = image_bytes("PNG", size=(1, 1))
    header = struct.pack(">II", width, height) + png[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return png[:16] + header + crc + png[33:]


def jpeg_claiming(width, height):
    jpeg = bytearray(image_bytes("JPEG", size=(8, 8)))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def webp_claiming(width, height):
    webp = bytearray(image_bytes("WEBP", size=(8, 8)))
    if webp[12:16] == b"VP8X":
        webp[24:27] = (width - 1).to_bytes(3, "little")
        webp[27:30] = (height - 1).to_bytes(3, "little")
    else:
        assert webp[12:16] == b"VP8 "
        webp[26:28] = width.to_bytes(2, "little")
        webp[28:30] = height.to_bytes(2, "little")
    return bytes(webp)


def stream(data, dictionary=b""):
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), dictionary, data)


def page_objects(*, catalog=b"", page=b"", content=b"BT /F1 12 Tf 20 100 Td (Lot %s) Tj ET"):
    """Catalog (1), pages (2), page (3), content (4) and font (5) of a
    one-page PDF; extra entries go into the catalog and page dictionaries."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> " + page + b" >>",
        stream(zlib.compress(content.replace(b"%s", LOT.encode())), b"/Filter /FlateDecode "),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def build_pdf(objects, *, root=1):
    """A PDF with a classic cross-reference table; objects are numbered from 1."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def build_pdf_with_object_stream(*, catalog=b"", hidden=(), encoding="flate", type_=b"/ObjStm"):
    """A PDF 1.5 file whose catalog, pages, page, font and ``hidden`` objects
    (numbered from 6) sit in a compressed object stream, with a cross-reference
    stream to find them."""
    inside = {
        1: b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for number, body in enumerate(hidden, start=6):
        inside[number] = body
    header, bodies = [], b""
    for number, body in inside.items():
        header.append(b"%d %d" % (number, len(bodies)))
        bodies += body + b"\n"
    header = b" ".join(header) + b"\n"
    packed = header + bodies
    if encoding == "flate":
        data, filters = zlib.compress(packed), b"/FlateDecode"
    elif encoding == "hex+flate":
        data = binascii.hexlify(zlib.compress(packed)) + b">"
        filters = b"[/ASCIIHexDecode /FlateDecode]"
    elif encoding == "a85+flate":
        data = base64.a85encode(zlib.compress(packed)) + b"~>"
        filters = b"[/ASCII85Decode /FlateDecode]"
    else:
        raise AssertionError(encoding)

    object_stream = max(inside) + 1
    xref_stream = object_stream + 1
    content = zlib.compress(b"BT /F1 12 Tf 20 100 Td (Lot %s) Tj ET" % LOT.encode())
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {4: len(out)}
    out += b"4 0 obj\n%s\nendobj\n" % stream(content, b"/Filter /FlateDecode ")
    offsets[object_stream] = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (
        object_stream,
        stream(
            data,
            b"/Type %s /N %d /First %d /Filter %s " % (type_, len(inside), len(header), filters),
        ),
    )
    offsets[xref_stream] = len(out)
    entries = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, xref_stream + 1):
        if number in inside:
            entries.append(struct.pack(">BIH", 2, object_stream, list(inside).index(number)))
        else:
            entries.append(struct.pack(">BIH", 1, offsets[number], 0))
    out += b"%d 0 obj\n%s\nendobj\n" % (
        xref_stream,
        stream(
            b"".join(entries), b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R " % (xref_stream + 1)
        ),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_stream]
    return bytes(out)


@pytest.fixture(scope="module")
def bomb_pdf():
    """A PDF of about 1 MB whose content stream inflates to more than 1 GB.

    Compressing a gigabyte takes seconds, but after a full flush deflate
    restarts from nothing, so each megabyte of zeros compresses to the same
    bytes: compress one, repeat it, and close with the right checksum."""
    megabyte = bytes(1024 * 1024)
    count = 1025
    compressor = zlib.compressobj(9)
    first = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-4]  # the final block; its checksum covers two megabytes
    # Adler-32 of n zero bytes: A = 1, B = n mod 65521.
    checksum = struct.pack(">I", ((count * len(megabyte)) % 65521) << 16 | 1)
    body = first + repeated * (count - 1) + end + checksum
    objects = page_objects()
    objects[3] = stream(body, b"/Filter /FlateDecode ")
    return build_pdf(objects)


# --------------------------------------------------------------------------- size


def test_empty_file_is_refused():
    assert refused(b"") == "The file is empty."


def test_file_one_byte_over_the_limit_is_refused(settings):
    settings.CERTIFICATE_MAX_UPLOAD_BYTES = 1000
    png = image_bytes("PNG", size=(4, 4))
    assert len(png) < 1000
    data = png + b"\0" * (1001 - len(png))
    assert refused(data, "coa.png") == "The file is larger than 1,000 bytes."


def test_file_at_the_limit_is_accepted(settings):
    png = image_bytes("PNG", size=(4, 4))
    settings.CERTIFICATE_MAX_UPLOAD_BYTES = len(png)
    assert check_file(png, filename="coa.png").content_type == "image/png"


def test_default_limit_is_20_mb_and_says_so():
    data = b"%PDF-1.7\n" + bytes(20 * 1024 * 1024)
    assert refused(data) == "The file is larger than 20 MB."


# --------------------------------------------------------------------------- type from content


def test_html_named_pdf_is_refused():
    assert refused(b"<!doctype html><script>alert(1)</script>", "coa.pdf") == UNSUPPORTED


def test_svg_is_refused():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert refused(svg, "coa.svg") == (
        'The file name ends in ".svg"; only .pdf, .png, .jpg, .jpeg and .webp files are accepted.'
    )
    assert refused(svg, "coa.png") == UNSUPPORTED


def test_png_bytes_named_pdf_are_refused():
    assert refused(image_bytes("PNG"), "coa.pdf") == (
        "The file's name says PDF but its content is PNG."
    )


def test_jpeg_bytes_named_png_are_refused():
    assert refused(image_bytes("JPEG"), "coa.png") == (
        "The file's name says PNG but its content is JPEG."
    )


def test_png_header_followed_by_html_is_refused():
    data = b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"
    assert refused(data, "coa.png") == "The file starts like a PNG image but is not a valid one."


def test_bmp_named_png_is_refused():
    assert refused(image_bytes("BMP"), "coa.png") == UNSUPPORTED


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_other_image_formats_are_refused(fmt):
    assert refused(image_bytes(fmt, mode="L"), "coa") == UNSUPPORTED


def test_zip_is_refused():
    assert refused(b"PK\x03\x04" + bytes(100), "coa") == UNSUPPORTED


def test_pdf_signature_followed_by_garbage_is_refused():
    data = b"%PDF-1.7\n" + b"this is not a PDF document\n" * 40
    assert refused(data) == "The file starts like a PDF but is not a valid one."


# --------------------------------------------------------------------------- names


def test_double_extension_is_refused():
    message = refused(fpdf_bytes(), "coa.pdf.html")
    assert message == (
        'The file name ends in ".html"; only .pdf, .png, .jpg, .jpeg and .webp files are accepted.'
    )


def test_nul_in_name_is_refused():
    assert refused(fpdf_bytes(), "coa.pdf\x00.png") == "The file name contains a NUL byte."


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\coa.pdf", "lab/coa.pdf", ".."])
def test_path_in_name_is_refused(name):
    assert refused(fpdf_bytes(), name) == (
        'The file name must not contain a folder path ("/", "\\" or "..").'
    )


def test_full_width_slash_in_name_is_refused():
    with pytest.raises(UploadError, match="folder path"):
        check_name("lab\uff0fcoa.pdf")


@pytest.mark.parametrize("override", ["\u202e", "\u202d", "\u2066", "\u2067", "\u200f", "\u061c"])
def test_text_direction_control_in_name_is_refused(override):
    name = f"coa{override}fdp.exe"
    assert refused(image_bytes("PNG"), name) == (
        "The file name contains right-to-left or other text-direction control characters."
    )


@pytest.mark.parametrize("char", ["\n", "\x1b", "\x7f", "\u200b", "\ufeff", "\u2028"])
def test_control_or_invisible_character_in_name_is_refused(char):
    assert refused(fpdf_bytes(), f"coa{char}.pdf") == (
        "The file name contains control or invisible characters."
    )


def test_blank_name_is_refused():
    assert refused(fpdf_bytes(), "  ") == "The file has no name."


def test_overlong_name_is_refused():
    assert refused(fpdf_bytes(), "c" * 252 + ".pdf") == (
        "The file name is longer than 255 characters."
    )


def test_names_that_are_accepted():
    assert check_name("  COA Lot 12.PDF ") == "COA Lot 12.PDF"
    assert check_name("Re\u0301sultat.pdf") == "R\u00e9sultat.pdf"  # NFC
    assert check_name("coa") == "coa"
    assert check_name("scan.v2.jpeg") == "scan.v2.jpeg"
    assert check_name("\u0646\u0627\u200c\u0645\u0647.pdf")  # a Persian name with a joiner


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("label", "data", "name"),
    [
        ("PNG", png_claiming(100_000, 100_000), "flood.png"),
        ("JPEG", jpeg_claiming(60_000, 60_000), "flood.jpg"),
        ("WebP", webp_claiming(16_383, 16_383), "flood.webp"),
    ],
)
def test_pixel_flood_is_refused_from_the_header(label, data, name):
    width, height = {"PNG": (100_000, 100_000), "JPEG": (60_000, 60_000)}.get(
        label, (16_383, 16_383)
    )
    started = time.monotonic()
    message = refused(data, name)
    assert time.monotonic() - started < 0.5
    assert len(data) < 1000
    assert message == (
        f"The image is {width:,} × {height:,} pixels; the limit is 50,000,000 pixels."
    )


def test_pixel_limit_comes_from_settings(settings):
    settings.CERTIFICATE_MAX_PIXELS = 1000
    assert refused(image_bytes("PNG", size=(40, 40)), "coa.png") == (
        "The image is 40 × 40 pixels; the limit is 1,000 pixels."
    )


def test_pixel_limit_never_exceeds_pillows(settings):
    """Above Pillow's MAX_IMAGE_PIXELS Pillow would warn (an error here), so the
    limit is capped at it, and no warning escapes."""
    settings.CERTIFICATE_MAX_PIXELS = 10**12
    limit = Image.MAX_IMAGE_PIXELS
    assert refused(png_claiming(10_000, 10_000), "coa.png") == (
        f"The image is 10,000 × 10,000 pixels; the limit is {limit:,} pixels."
    )


def test_truncated_jpeg_is_refused():
    jpeg = image_bytes("JPEG", size=(200, 200), noise=True)
    assert refused(jpeg[: len(jpeg) * 6 // 10], "coa.jpg") == (
        "The JPEG image is truncated or damaged."
    )


def test_truncated_png_is_refused():
    png = image_bytes("PNG", size=(200, 200), noise=True)
    assert refused(png[: len(png) * 6 // 10], "coa.png") == (
        "The PNG image is truncated or damaged."
    )


def test_jpeg_with_exif_is_accepted_and_stripped():
    exif = Image.Exif()
    exif[0x010E] = "SECRET-EXIF-PAYLOAD"  # ImageDescription
    exif[0x0131] = "SECRET-CAMERA-SOFTWARE"  # Software
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    jpeg = image_bytes("JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"SECRET-COMMENT")
    assert b"SECRET-EXIF-PAYLOAD" in jpeg and b"SECRET-COMMENT" in jpeg

    checked = check_file(jpeg, filename="coa.jpg")

    assert (checked.content_type, checked.extension) == ("image/jpeg", ".jpg")
    assert b"SECRET" not in checked.data
    assert b"Exif" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (64, 48)
        assert len(image.getexif()) == 0
        assert "icc_profile" not in image.info
        assert "comment" not in image.info


def test_exif_orientation_is_applied_before_it_is_stripped():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    jpeg = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    checked = check_file(jpeg, filename="coa.jpg")
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (20, 40)
        assert len(image.getexif()) == 0


def jpeg_with_segment(marker, payload):
    jpeg = image_bytes("JPEG", size=(16, 8))
    return jpeg[:2] + bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2) + payload + jpeg[2:]


@pytest.mark.parametrize(
    ("marker", "payload"),
    [
        pytest.param(0xE1, b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff", id="corrupt-EXIF"),
        pytest.param(
            0xE2, b"MPF\x00II*\x00\x08\x00\x00\x00\x03\x00" + bytes(30), id="malformed-MPO"
        ),
    ],
)
def test_jpeg_with_broken_metadata_is_accepted_without_warnings(marker, payload):
    """Plain Pillow warns about these (here: an error); the metadata is dropped
    before Pillow reads the file."""
    checked = check_file(jpeg_with_segment(marker, payload), filename="coa.jpg")
    assert payload not in checked.data
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (16, 8)


def test_png_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° counter-clockwise to display
    checked = check_file(image_bytes("PNG", size=(40, 20), exif=exif.tobytes()), filename="a.png")
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (20, 40)


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "coa.png"), ("WEBP", "coa.webp")])
def test_animated_image_is_refused(fmt, name):
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100)
    assert refused(out.getvalue(), name) == "Animated images are not accepted."


def test_png_text_chunks_and_exif_are_stripped():
    info = PngInfo()
    info.add_text("Comment", "SECRET-PNG-TEXT")
    info.add_itxt("Author", "SECRET-PNG-ITXT")
    exif = Image.Exif()
    exif[0x010E] = "SECRET-EXIF-PAYLOAD"
    png = image_bytes("PNG", mode="RGBA", pnginfo=info, exif=exif.tobytes())
    checked = check_file(png, filename="coa.png")
    assert b"SECRET" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.mode == "RGBA"
        assert len(image.getexif()) == 0
        assert not image.text


def test_webp_metadata_is_stripped():
    exif = Image.Exif()
    exif[0x010E] = "SECRET-EXIF-PAYLOAD"
    webp = image_bytes("WEBP", exif=exif.tobytes(), xmp=b"<x:xmpmeta>SECRET-XMP</x:xmpmeta>")
    assert b"SECRET-EXIF-PAYLOAD" in webp
    checked = check_file(webp, filename="coa.webp")
    assert b"SECRET" not in checked.data
    assert (checked.content_type, checked.extension) == ("image/webp", ".webp")


@pytest.mark.parametrize(
    ("fmt", "name", "content_type", "extension"),
    [
        ("PNG", "coa.PNG", "image/png", ".png"),
        ("JPEG", "coa.jpeg", "image/jpeg", ".jpg"),
        ("WEBP", "coa.webp", "image/webp", ".webp"),
        ("PNG", "coa", "image/png", ".png"),
    ],
)
def test_images_are_accepted(fmt, name, content_type, extension):
    checked = check_file(image_bytes(fmt, size=(120, 90)), filename=name)
    assert checked == CheckedFile(
        data=checked.data, content_type=content_type, extension=extension, page_count=1, text=""
    )
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.format == fmt
        assert image.size == (120, 90)


def test_lossless_webp_stays_lossless():
    webp = image_bytes("WEBP", size=(32, 32), noise=True, lossless=True)
    checked = check_file(webp, filename="coa.webp")
    with Image.open(io.BytesIO(webp)) as original, Image.open(io.BytesIO(checked.data)) as image:
        assert image.tobytes() == original.tobytes()


def test_palette_png_keeps_its_transparency():
    image = Image.new("P", (10, 10), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    out = io.BytesIO()
    image.save(out, "PNG", transparency=1)
    checked = check_file(out.getvalue(), filename="coa.png")
    with Image.open(io.BytesIO(checked.data)) as result:
        assert result.convert("RGBA").getpixel((0, 0))[3] == 0


# --------------------------------------------------------------------------- PDFs accepted


def test_pdf_is_accepted_with_its_text_layer():
    data = fpdf_bytes(pages=2)
    assert b"/OpenAction [" in data  # fpdf2's opening view: a destination, not an action

    checked = check_file(data, filename="COA.pdf")

    assert checked.data == data
    assert (checked.content_type, checked.extension, checked.page_count) == (
        "application/pdf",
        ".pdf",
        2,
    )
    assert f"Lot {LOT} page 1" in checked.text
    assert f"Lot {LOT} page 2" in checked.text


def test_hand_built_pdf_is_accepted():
    """The crafted PDFs below differ from this one only by what is refused."""
    checked = check_file(build_pdf(page_objects()), filename="coa.pdf")
    assert checked.page_count == 1
    assert LOT in checked.text


@pytest.mark.parametrize("encoding", ["flate", "hex+flate", "a85+flate"])
def test_pdf_with_object_streams_is_accepted(encoding):
    data = build_pdf_with_object_stream(encoding=encoding)
    assert b"/Catalog" not in data  # only in the compressed object stream
    assert LOT in check_file(data, filename="coa.pdf").text


# --------------------------------------------------------------------------- PDFs refused


@pytest.mark.parametrize("user_password", ["", "secret"])
def test_encrypted_pdf_is_refused(user_password):
    pdf = fpdf_document()
    pdf.set_encryption(owner_password="owner", user_password=user_password)
    assert refused(bytes(pdf.output())) == ENCRYPTED


def test_pdf_with_javascript_open_action_is_refused():
    objects = page_objects(catalog=b"/OpenAction 6 0 R")
    objects.append(b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>")
    assert refused(build_pdf(objects)) == ACTIVE


def test_pdf_with_hex_escaped_names_is_refused():
    objects = page_objects(catalog=b"/Open#41ction 6 0 R")
    objects.append(b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>")
    data = build_pdf(objects)
    assert b"OpenAction" not in data and b"JavaScript" not in data and b"/JS" not in data
    assert refused(data) == ACTIVE


@pytest.mark.parametrize(
    "spelling", [b"/J#61vaScript", b"/#4A#61#76#61#53#63#72#69#70#74", b"/JavaScrip#74"]
)
def test_any_spelling_of_a_name_is_refused(spelling):
    objects = page_objects()
    objects.append(b"<< /S " + spelling + b" /Next 5 0 R >>")
    assert refused(build_pdf(objects)) == ACTIVE


GO_TO = b"<< /S /GoTo /D [3 0 R /Fit] >>"
ANNOTATION = b"/Annots [6 0 R]"


def link(action):
    """A link annotation (object 6) that runs ``action`` when clicked."""
    return b"<< /Subtype /Link /Rect [0 0 9 9] /A << " + action + b" >> >>"


@pytest.mark.parametrize(
    ("catalog", "page", "extra"),
    [
        pytest.param(b"/OpenAction 6 0 R", b"", GO_TO, id="OpenAction"),
        pytest.param(b"/OpenAction " + GO_TO, b"", None, id="OpenAction-dict"),
        pytest.param(b"", b"/AA << /O 6 0 R >>", GO_TO, id="AA"),
        pytest.param(b"", b"", b"<< /S /GoTo /D [3 0 R /Fit] /JS (x) >>", id="JS"),
        pytest.param(b"", ANNOTATION, link(b"/S /Launch /F (calc.exe)"), id="Launch"),
        pytest.param(b"", ANNOTATION, link(b"/S /SubmitForm /F (https://x.test)"), id="Submit"),
        pytest.param(b"", ANNOTATION, link(b"/S /ImportData /F (x.fdf)"), id="ImportData"),
        pytest.param(b"", ANNOTATION, link(b"/S /GoToR /F (//host/x.pdf) /D [0 /Fit]"), id="GoToR"),
        pytest.param(b"", ANNOTATION, link(b"/S /GoToE /T << /R /C /N (a) >>"), id="GoToE"),
        pytest.param(b"", ANNOTATION, link(b"/S /Rendition /OP 0"), id="Rendition"),
        pytest.param(b"", ANNOTATION, b"<< /Subtype /RichMedia /Rect [0 0 9 9] >>", id="RichMedia"),
        pytest.param(b"/Names << /EmbeddedFiles << /Names [] >> >>", b"", None, id="EmbeddedFiles"),
    ],
)
def test_each_kind_of_active_content_is_refused(catalog, page, extra):
    objects = page_objects(catalog=catalog, page=page)
    if extra:
        objects.append(extra)
    assert refused(build_pdf(objects)) == ACTIVE


def test_pdf_with_embedded_file_is_refused():
    pdf = fpdf_document()
    pdf.embed_file(basename="results.txt", bytes=b"all clear")
    assert refused(bytes(pdf.output())) == ACTIVE


def test_xfa_form_is_refused():
    xfa = b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template/></xdp:xdp>'
    objects = page_objects(catalog=b"/AcroForm << /Fields [] /XFA 6 0 R >>")
    objects.append(stream(xfa))
    assert refused(build_pdf(objects)) == ACTIVE


@pytest.mark.parametrize("encoding", ["flate", "hex+flate", "a85+flate"])
def test_active_content_inside_an_object_stream_is_refused(encoding):
    data = build_pdf_with_object_stream(
        catalog=b"/OpenAction 6 0 R",
        hidden=[b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"],
        encoding=encoding,
    )
    assert b"OpenAction" not in data and b"JavaScript" not in data
    assert refused(data) == ACTIVE


def test_object_stream_with_a_disguised_type_is_still_scanned():
    data = build_pdf_with_object_stream(
        hidden=[b"<< /S /URI /URI (https://x.test) /AA << /O 7 0 R >> >>"],
        type_=b"/Obj#53tm",
    )
    assert refused(data) == ACTIVE


def test_object_stream_compressed_another_way_is_refused():
    data = build_pdf_with_object_stream().replace(
        b"/FlateDecode", b"/FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >>", 2
    )
    assert refused(data) == (
        "The PDF stores objects in a compressed form the registry cannot check."
    )


def test_decompression_bomb_is_refused_quickly(bomb_pdf):
    assert len(bomb_pdf) < 2 * 1024 * 1024
    started = time.monotonic()
    message = refused(bomb_pdf)
    assert time.monotonic() - started < 2
    assert message == (
        "The PDF contains compressed data that expands to more than 64 MB; it cannot be checked."
    )


def test_inflation_limit_comes_from_settings(settings):
    settings.CERTIFICATE_MAX_INFLATED_BYTES = 10
    assert refused(fpdf_bytes()) == (
        "The PDF contains compressed data that expands to more than 10 bytes; it cannot be checked."
    )


def test_oversized_object_stream_is_refused():
    """Object streams are held in memory to be scanned; real ones are kilobytes."""
    packed = zlib.compress(b"1 0 " + bytes(33 * 1024 * 1024), 1)
    objects = page_objects()
    objects.append(stream(packed, b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode "))
    assert refused(build_pdf(objects)) == (
        "The PDF contains a compressed object stream larger than 32 MB; it cannot be checked."
    )


def test_pdf_that_costs_too_much_to_scan_is_refused():
    """Streams are found by a byte search, so a file can claim very many; the
    work spent on a file is bounded by a multiple of its size."""
    data = build_pdf(page_objects()) + b"stream\n" * 200_000
    assert refused(data) == "The PDF is too complex to check."


def test_encryption_is_reported_before_active_content():
    objects = page_objects(catalog=b"/OpenAction 6 0 R")
    objects.append(b"<< /S /JavaScript /JS (1) >>")
    objects.append(b"<< /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>")
    data = build_pdf(objects).replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 7 0 R")
    assert refused(data) == ENCRYPTED


def test_pdf_over_the_page_limit_is_refused(settings):
    settings.CERTIFICATE_MAX_PAGES = 3
    assert check_file(fpdf_bytes(pages=3), filename="coa.pdf").page_count == 3
    assert refused(fpdf_bytes(pages=4)) == "The PDF has 4 pages; the limit is 3."


def test_pdf_without_pages_is_refused():
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    # pdfium will not even open it.
    assert refused(build_pdf(objects)) == "The file starts like a PDF but is not a valid one."


def test_stream_data_does_not_trip_the_short_names():
    """Three random bytes spell /JS or /AA too often: inside stream data those
    two names count only where the data decodes to an object stream."""
    noise = b"/JS (x) /AA << >> 12 0 R" * 50
    objects = page_objects()
    objects.append(stream(noise, b"/Subtype /Image /Width 10 /Height 10 "))
    assert check_file(build_pdf(objects), filename="coa.pdf").page_count == 1


# --------------------------------------------------------------------------- pdfium's view


@pytest.fixture
def without_byte_scan(monkeypatch):
    """Turn off the byte scans to show pdfium's checks catch the same files."""
    monkeypatch.setattr(uploads, "_scan_pdf_bytes", lambda data: None)


@pytest.mark.usefixtures("without_byte_scan")
@pytest.mark.parametrize("user_password", ["", "secret"])
def test_pdfium_refuses_encrypted_pdfs_too(user_password):
    pdf = fpdf_document()
    pdf.set_encryption(owner_password="owner", user_password=user_password)
    assert refused(bytes(pdf.output())) == ENCRYPTED


@pytest.mark.usefixtures("without_byte_scan")
def test_pdfium_refuses_attachments_too():
    pdf = fpdf_document()
    pdf.embed_file(basename="results.txt", bytes=b"all clear")
    assert refused(bytes(pdf.output())) == ACTIVE


@pytest.mark.usefixtures("without_byte_scan")
@pytest.mark.parametrize(
    ("catalog", "page", "extra"),
    [
        pytest.param(b"/AcroForm << /Fields [] /XFA 6 0 R >>", b"", stream(b"<xdp/>"), id="XFA"),
        pytest.param(
            b"/Names << /JavaScript << /Names [(a) 6 0 R] >> >>",
            b"",
            b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>",
            id="document-JavaScript",
        ),
        pytest.param(b"", b"/AA << /O 6 0 R >>", b"<< /S /JavaScript /JS (1) >>", id="page-open"),
    ],
)
def test_pdfium_refuses_active_content_too(catalog, page, extra):
    objects = page_objects(catalog=catalog, page=page)
    objects.append(extra)
    assert refused(build_pdf(objects)) == ACTIVE


# --------------------------------------------------------------------------- previews and storage


def test_pdf_preview_is_a_png_of_the_requested_width():
    checked = check_file(fpdf_bytes(), filename="coa.pdf")
    for width in (900, 400):
        png = uploads.preview_png(checked, width=width)
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            assert image.width == width
            assert image.height == round(width * 841.89 / 595.28)


def test_image_preview_is_scaled_down_to_the_width():
    checked = check_file(image_bytes("JPEG", size=(1200, 600)), filename="coa.jpg")
    with Image.open(io.BytesIO(uploads.preview_png(checked))) as image:
        assert (image.format, image.size) == ("PNG", (900, 450))


def test_small_image_preview_is_not_enlarged():
    checked = check_file(image_bytes("PNG", size=(300, 200), mode="RGBA"), filename="coa.png")
    with Image.open(io.BytesIO(uploads.preview_png(checked, width=900))) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (300, 200), "RGBA")


def test_preview_is_stored_under_a_random_name(media_root):
    png = image_bytes("PNG")
    name = uploads.store_preview(png)
    assert re.fullmatch(r"previews/\d{4}/\d{2}/[0-9a-f]{32}\.png", name)
    assert (media_root / name).read_bytes() == png
    assert uploads.within_storage(name)
    assert uploads.store_preview(png) != name


def test_store_preview_only_takes_png():
    with pytest.raises(ValueError, match="must be a PNG"):
        uploads.store_preview(b"<svg/>")


@pytest.mark.parametrize(
    "name", ["", None, "../outside.png", "previews/../../outside.png", "/etc/passwd", "a\x00b", "."]
)
def test_names_outside_storage_are_caught(name):
    assert not uploads.within_storage(name)


def test_symbolic_link_out_of_storage_is_caught(media_root, tmp_path):
    media_root.mkdir(parents=True, exist_ok=True)
    (tmp_path / "secret.txt").write_text("secret")
    (media_root / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert not uploads.within_storage("link.txt")
    assert uploads.within_storage("certificates/2026/01/x.pdf")


# --------------------------------------------------------------------------- the importer's use


def test_sniff_still_reads_the_signature():
    assert uploads.sniff(fpdf_bytes()) == ("application/pdf", ".pdf")
    assert uploads.sniff(image_bytes("JPEG")) == ("image/jpeg", ".jpg")
    assert uploads.sniff(image_bytes("WEBP")) == ("image/webp", ".webp")
    with pytest.raises(UploadError, match="^The file is empty.$"):
        uploads.sniff(b"")
    with pytest.raises(UploadError, match=f"^{UNSUPPORTED}$"):
        uploads.sniff(b"<html>")


def test_store_and_discard(media_root):
    name = uploads.store(b"%PDF-1.7", extension=".pdf")
    assert name.startswith("certificates/") and name.endswith(".pdf")
    assert (media_root / name).exists()
    uploads.discard(name)
    assert not (media_root / name).exists()
    assert uploads.sha256(b"") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
