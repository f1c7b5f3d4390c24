"""Certificate files: whether the registry accepts an uploaded file, what it
is, its SHA-256, a preview, and storing it under a random name.

The rules, and why (STYLE.md item 9):

* **Size first.** Nothing parses a file before its size is known to be within
  ``CERTIFICATE_MAX_UPLOAD_BYTES`` (default 20 MB), and every later limit is
  derived from something already bounded.
* **Type from content only.** A file is PDF, PNG, JPEG or WebP when its leading
  bytes say so *and* it parses as that format; the name and the declared content
  type are the uploader's to choose and are never trusted. HTML, SVG and XML are
  refused because a browser runs their scripts; other formats because labs do not
  send them and each parser is more attack surface.
* **The name is for display only** (storage names are random, see
  ``certificate_upload_to``), but it is shown to reviewers, so ``check_name``
  refuses names that mislead: folders and ``..``, control characters, and
  text-direction overrides (``"coa\\u202efdp.exe"`` displays as ``coaexe.pdf``).
  A name whose extension is not one of ours, or says a different type than the
  content (``coa.pdf.html``, PNG bytes named ``.pdf``), is refused rather than
  guessed at.
* **Images** are judged by the pixel count in their header before anything is
  decoded: a 100 kB PNG may claim 100000 x 100000 pixels, 40 GB once decoded.
  The limit is ``CERTIFICATE_MAX_PIXELS`` (default 50 million) and never more
  than Pillow's own ``Image.MAX_IMAGE_PIXELS``, so Pillow's decompression-bomb
  warning cannot fire for an image that passed. The image is then decoded in
  full (Django's ``ImageField`` only runs ``verify()``, which lets truncated files
  through) and re-encoded from its pixels in the same format: EXIF (GPS position,
  camera serial numbers), ICC profiles, comments and text chunks are not carried
  over. The EXIF orientation is applied first so the picture stays upright.
  Animated images are refused (a certificate is one picture). Pillow merely
  *warns* about some malformed metadata; those paths are avoided rather than
  silenced (see the images section), so no warning escapes.
* **PDFs** are stored as uploaded, so the check is about what *any* reader's PDF
  viewer might do with them, not only pdfium. Cheap byte scans run before the
  native parser:

  - encryption: an ``/Encrypt`` entry. A PDF encrypted with an empty user
    password opens without a prompt, so pdfium's loader alone would not notice;
  - active content: scripts (``/JavaScript``, ``/JS``), actions that run on their
    own (``/OpenAction``, additional actions ``/AA``) or leave the document
    (``/Launch``, ``/SubmitForm``, ``/ImportData``, ``/GoToR``, ``/GoToE``,
    ``/Rendition``), embedded files, XFA forms and rich media. PDF names may spell
    any character as ``#xx`` (``/J#61vaScript`` is ``/JavaScript``), so every
    spelling is matched. An ``/OpenAction`` that is only a destination array
    (``[3 0 R /FitH null]``: open at page 1, fit width -- fpdf2 and Acrobat write
    it) is not an action and is allowed. The short names ``/JS`` and ``/AA`` are
    matched only with a value of their kind after them (string, dictionary or
    reference) and not inside raw stream data, where three random bytes would
    too often spell them;
  - compressed objects: since PDF 1.5 dictionaries may sit inside compressed
    object streams, invisible to a byte scan. Every stream that inflates
    (FlateDecode, also behind ASCIIHex or ASCII85) is inflated and, when it is or
    looks like an object stream, scanned like the file. Object streams compressed
    any other way (LZW, predictors, ...) are refused: no writer needs them and
    they could not be scanned;
  - decompression bombs: inflation is bounded in total by
    ``CERTIFICATE_MAX_INFLATED_BYTES`` (default 64 MB: a few pages of lossless
    colour scans; inflating costs roughly a second per 100-200 MB) and the
    work spent on any file by a multiple of its size, so a small file whose
    streams expand to gigabytes is refused within about a second.

  Then pdfium must open the file, the page count must be within
  ``CERTIFICATE_MAX_PAGES`` (default 50), and pdfium's own view must agree: no
  document JavaScript, attachments, XFA or page open/close actions. The text
  layer of every page is kept for the lot-code check. pdfium is native code with
  no time limit of its own; it is kept bounded by running it only on files that
  passed the size limit and the scans, and only up to the page limit. It is not
  thread-safe, so this module serialises its calls.

Known limits (the scans are defence in depth, not a PDF parser):

* ``/JS`` and ``/AA`` hidden in what looks like stream data and reached through
  cross-reference offsets are missed; the actions that make them dangerous
  (``/JavaScript``, ``/Launch``, ...) are refused wherever they appear.
* An object stream whose ``/Type`` is disguised (escaped names are decoded, but
  an indirect or string value is not) is found only by its content, and is not
  scanned if it also uses an encoding other than Flate/ASCIIHex/ASCII85, starts
  after more than 1 MB of comments or inflates to more than 32 MB. pdfium's own
  checks still apply to it.
* ``/OpenAction`` given as a reference is refused even when it points at a
  harmless destination (LaTeX's hyperref writes that).

Storing is paired with removal: a caller that fails after ``store`` calls
``discard`` so no file is left without a row. Files are served only after
``within_storage`` has confirmed the resolved path is inside ``MEDIA_ROOT``.
"""

import base64
import binascii
import bisect
import hashlib
import io
import re
import struct
import threading
import unicodedata
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from .models import certificate_upload_to

MB = 1024 * 1024

DEFAULT_MAX_UPLOAD_BYTES = 20 * MB
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_PAGES = 50
DEFAULT_MAX_INFLATED_BYTES = 64 * MB

# Certificate.original_filename holds at most this many characters.
MAX_NAME_LENGTH = 255
# An object stream (or anything that looks like one) is held in memory to be
# scanned; real ones are kilobytes.
MAX_SCANNED_STREAM_BYTES = 32 * MB
# Previews are at most this many times as tall as they are wide.
PREVIEW_MAX_ASPECT = 4

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"


class Kind(NamedTuple):
    extension: str  # what the stored file is named
    label: str  # what messages call it
    pillow_format: str | None


KINDS = {
    PDF: Kind(".pdf", "PDF", None),
    PNG: Kind(".png", "PNG", "PNG"),
    JPEG: Kind(".jpg", "JPEG", "JPEG"),
    WEBP: Kind(".webp", "WebP", "WEBP"),
}

# Extensions a name may end in, and the type each one claims.
NAME_EXTENSIONS = {".pdf": PDF, ".png": PNG, ".jpg": JPEG, ".jpeg": JPEG, ".webp": WEBP}

# Leading bytes of the formats the registry accepts, with the extension the
# stored file gets. WebP ("RIFF....WEBP") is matched separately.
SIGNATURES = (
    (b"%PDF-", PDF, ".pdf"),
    (b"\x89PNG\r\n\x1a\n", PNG, ".png"),
    (b"\xff\xd8\xff", JPEG, ".jpg"),
)


class UploadError(ValueError):
    """A file the registry refuses; the message is shown to the uploader."""


@dataclass(frozen=True)
class CheckedFile:
    """A file ``check_file`` accepted, ready to be stored."""

    # What will be stored: the PDF as uploaded, or the re-encoded image.
    data: bytes = field(repr=False)
    content_type: str
    extension: str
    page_count: int  # 1 for images
    text: str = field(repr=False)  # the PDF's text layer, "" for images


# --------------------------------------------------------------------------- messages

EMPTY = "The file is empty."
UNSUPPORTED = "Only PDF, PNG, JPEG and WebP files are accepted."
ENCRYPTED = "The PDF is encrypted or password-protected; remove the password and upload again."
ACTIVE = "PDFs with scripts, actions, XFA forms or embedded files are not accepted."
PDF_INVALID = "The file starts like a PDF but is not a valid one."
PDF_NO_PAGES = "The PDF has no pages."
PDF_TOO_COMPLEX = "The PDF is too complex to check."
PDF_UNCHECKABLE = "The PDF stores objects in a compressed form the registry cannot check."


# --------------------------------------------------------------------------- signatures, storage


def _signature_type(data):
    for signature, content_type, _extension in SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def sniff(data):
    """(content type, extension) from the leading bytes, or UploadError.

    Only the signature: ``check_file`` is the full check."""
    if not data:
        raise UploadError(EMPTY)
    content_type = _signature_type(data)
    if content_type is None:
        raise UploadError(UNSUPPORTED)
    return content_type, KINDS[content_type].extension


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def store(data, *, extension):
    """Save ``data`` under a fresh random name; returns the storage name."""
    return default_storage.save(
        certificate_upload_to(None, f"upload{extension}"), ContentFile(data)
    )


def discard(name):
    if name and default_storage.exists(name):
        default_storage.delete(name)


# --------------------------------------------------------------------------- names

# Characters that change the direction text is displayed in.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Joiners are invisible but part of how Persian and Indic names, and emoji, are spelt.
ALLOWED_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
# Slashes that are not "/" or "\" but look like them (NFKC folds the full-width ones).
SLASH_LOOKALIKES = frozenset("\u2044\u2215\u29f8\u29f9")


def _name_extension(name):
    _stem, dot, extension = name.rpartition(".")
    return f".{extension.lower()}" if dot else ""


def check_name(filename: str) -> str:
    """The uploaded file name, safe to display, or UploadError."""
    if "\x00" in filename:
        raise UploadError("The file name contains a NUL byte.")
    if any(char in BIDI_CONTROLS for char in filename):
        raise UploadError(
            "The file name contains right-to-left or other text-direction control characters."
        )
    for char in filename:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or (
            category == "Cf" and char not in ALLOWED_FORMAT_CHARACTERS
        ):
            raise UploadError("The file name contains control or invisible characters.")
    name = unicodedata.normalize("NFC", filename).strip(" ")
    if not name:
        raise UploadError("The file has no name.")
    folded = unicodedata.normalize("NFKC", name)
    if (
        "/" in folded
        or "\\" in folded
        or any(char in SLASH_LOOKALIKES for char in name)
        or name in (".", "..")
    ):
        raise UploadError('The file name must not contain a folder path ("/", "\\" or "..").')
    if len(name) > MAX_NAME_LENGTH:
        raise UploadError(f"The file name is longer than {MAX_NAME_LENGTH} characters.")
    extension = _name_extension(name)
    if extension and extension not in NAME_EXTENSIONS:
        raise UploadError(
            f'The file name ends in "{extension}"; only .pdf, .png, .jpg, .jpeg and .webp '
            "files are accepted."
        )
    return name


# --------------------------------------------------------------------------- the check


def _format_bytes(count):
    for unit, size in (("GB", 1024 * MB), ("MB", MB), ("KB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size:,} {unit}"
    if count >= MB:
        return f"{count / MB:.1f} MB"
    return f"{count:,} bytes"


def check_file(data: bytes, *, filename: str) -> CheckedFile:
    """The file as the registry will store it, or UploadError saying why not."""
    limit = getattr(settings, "CERTIFICATE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)
    if not data:
        raise UploadError(EMPTY)
    if len(data) > limit:
        raise UploadError(f"The file is larger than {_format_bytes(limit)}.")
    data = bytes(data)
    name = check_name(filename)
    content_type = _signature_type(data)
    if content_type is None:
        raise UploadError(UNSUPPORTED)
    claimed = NAME_EXTENSIONS.get(_name_extension(name))
    if claimed and claimed != content_type:
        raise UploadError(
            f"The file's name says {KINDS[claimed].label} "
            f"but its content is {KINDS[content_type].label}."
        )
    if content_type == PDF:
        return _check_pdf(data)
    return _check_image(data, content_type)


# --------------------------------------------------------------------------- images
#
# Pillow warns (instead of failing) about some malformed input: corrupt EXIF,
# a malformed multi-picture JPEG, an invalid APNG. Warnings are process-wide
# and ``warnings.catch_warnings`` is not thread-safe, so instead those paths are
# never reached: JPEG metadata segments are removed before Pillow sees the
# file, the EXIF orientation is read here, and animated images are refused.


def _png_size(data):
    # The IHDR chunk must come first (PNG spec 5.6).
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _png_animated(data):
    # An animation control chunk (APNG) comes before the first image data.
    first_data = data.find(b"IDAT", 8)
    return data.find(b"acTL", 8, first_data if first_data > 0 else len(data)) > 0


# Start-of-frame markers: every SOFn except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Metadata segments: APP1-APP13 and APP15 (EXIF, XMP, ICC, MPF, Photoshop...)
# and comments. APP0 (JFIF) and APP14 (Adobe: colour transform) affect decoding.
_JPEG_METADATA = frozenset(range(0xE1, 0xEE)) | {0xEF, 0xFE}
# Real files have a few dozen segments before the image data.
_JPEG_MAX_SEGMENTS = 1000


def _jpeg_segments(data):
    """(marker, start, end) of each segment before the first scan, and the
    offset of the scan; None if there are absurdly many. Bytes between
    segments are skipped, as Pillow does."""
    segments = []
    pos = 2
    while len(segments) <= _JPEG_MAX_SEGMENTS:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 4 > len(data):
            return segments, len(data)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length follows
            pos += 2
        elif marker in (0xD9, 0xDA):  # end of image, start of scan
            return segments, pos
        else:
            end = pos + 2 + max(int.from_bytes(data[pos + 2 : pos + 4]), 2)
            segments.append((marker, pos, end))
            pos = end
    return None


def _jpeg_size(data, segments):
    """The largest width and height of any frame header (Pillow uses the last)."""
    width = height = 0
    for marker, start, end in segments:
        if marker in _JPEG_SOF and start + 9 <= min(end, len(data)):
            frame_height, frame_width = struct.unpack(">HH", data[start + 5 : start + 9])
            width, height = max(width, frame_width), max(height, frame_height)
    return width, height


def _jpeg_exif(data, segments):
    for marker, start, end in segments:
        if marker == 0xE1 and data[start + 4 : start + 10] == b"Exif\x00\x00":
            return data[start + 4 : end]
    return b""


def _jpeg_without_metadata(data, segments, scan):
    kept = (data[start:end] for marker, start, end in segments if marker not in _JPEG_METADATA)
    return b"\xff\xd8" + b"".join(kept) + data[scan:]


def _webp_size(data):
    # The first chunk is the extended header (canvas size) or the only image.
    if len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    return None


def _webp_animated(data):
    return data[12:16] == b"VP8X" and bool(data[20] & 0x02)


def _webp_lossless(data):
    pos = 12
    for _ in range(64):
        if pos + 8 > len(data):
            break
        chunk = data[pos : pos + 4]
        if chunk in (b"VP8 ", b"VP8L"):
            return chunk == b"VP8L"
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return False


# EXIF orientation (TIFF tag 0x0112) -> the transposition that makes the image upright.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _exif_orientation(exif):
    """The orientation in an EXIF block's first directory; 1 (as stored) when
    there is none or the block is unreadable."""
    exif = exif.removeprefix(b"Exif\x00\x00")
    order = {b"II": "<", b"MM": ">"}.get(exif[:2])
    if order is None:
        return 1
    try:
        (directory,) = struct.unpack_from(order + "I", exif, 4)
        (count,) = struct.unpack_from(order + "H", exif, directory)
        for index in range(min(count, 1000)):
            tag, kind, _count, value = struct.unpack_from(
                order + "HHI4s", exif, directory + 2 + 12 * index
            )
            if tag == 0x0112 and kind == 3:  # SHORT, stored in the value's first bytes
                return struct.unpack_from(order + "H", value)[0]
    except struct.error:
        return 1
    return 1


def _pixel_limit():
    limit = getattr(settings, "CERTIFICATE_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    if Image.MAX_IMAGE_PIXELS is not None:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    return limit


def _check_pixels(size):
    width, height = size
    limit = _pixel_limit()
    if width * height > limit:
        raise UploadError(
            f"The image is {width:,} × {height:,} pixels; the limit is {limit:,} pixels."
        )


def _check_image(data, content_type):
    kind = KINDS[content_type]
    invalid = f"The file starts like a {kind.label} image but is not a valid one."
    orientation = None
    if content_type == JPEG:
        parsed = _jpeg_segments(data)
        if parsed is None:
            raise UploadError(invalid)
        segments, scan = parsed
        size = _jpeg_size(data, segments)
        orientation = _exif_orientation(_jpeg_exif(data, segments))
        data = _jpeg_without_metadata(data, segments, scan)
    elif content_type == PNG:
        size = _png_size(data)
        if size and _png_animated(data):
            raise UploadError("Animated images are not accepted.")
    else:
        size = _webp_size(data)
        if size and _webp_animated(data):
            raise UploadError("Animated images are not accepted.")
    if size is None or 0 in size:
        raise UploadError(invalid)
    _check_pixels(size)
    try:
        with Image.open(io.BytesIO(data), formats=[kind.pillow_format]) as image:
            _check_pixels(image.size)
            try:
                image.load()
            except Exception:  # Pillow reports broken data with many exception types
                raise UploadError(f"The {kind.label} image is truncated or damaged.") from None
            if orientation is None:
                orientation = _exif_orientation(image.info.get("exif") or b"")
            cleaned = _reencode(
                image, content_type, orientation=orientation, lossless=_webp_lossless(data)
            )
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Only if the header parsers above and Pillow disagree about the size.
        # (The warning is an exception only where warnings are errors.)
        raise UploadError(
            f"The image has more pixels than the limit of {_pixel_limit():,}."
        ) from None
    except Exception:
        raise UploadError(invalid) from None
    return CheckedFile(
        data=cleaned, content_type=content_type, extension=kind.extension, page_count=1, text=""
    )


def _reencode(image, content_type, *, orientation, lossless):
    """The first frame's pixels, upright, in the same format, without metadata."""
    transposition = _ORIENTATION.get(orientation)
    upright = image.transpose(transposition) if transposition else image.copy()
    transparency = image.info.get("transparency")
    # Pillow's encoders copy ICC profiles, comments and more from ``info``.
    upright.info = {}
    out = io.BytesIO()
    if content_type == PNG:
        options = {} if transparency is None else {"transparency": transparency}
        upright.save(out, "PNG", **options)
    elif content_type == JPEG:
        if upright.mode not in ("L", "RGB", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=90)
    else:
        if upright.mode not in ("RGB", "RGBA"):
            upright = upright.convert("RGBA" if _has_alpha(upright, transparency) else "RGB")
        upright.save(out, "WEBP", quality=90, lossless=lossless)
    return out.getvalue()


def _has_alpha(image, transparency=None):
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or transparency is not None


# --------------------------------------------------------------------------- PDF byte scans

# PDF syntax (ISO 32000-1, 7.2). Possessive quantifiers keep the patterns
# linear on hostile input.
_WHITESPACE = b"\x00\t\n\x0c\r "
_NAME_END = rb"(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])"
# Between a key and its value only whitespace is looked at: a comment there
# (legal, but no writer puts one) counts as a value, so it cannot hide one.
# Following comments instead would cost quadratic time on "/JS %/JS %...".
_SPACE = rb"[\x00\t\n\x0c\r ]*+"
_REFERENCE = rb"[+-]?\d++" + _SPACE + rb"(?:%|[+-]?\d++" + _SPACE + rb"(?:%|R))"


def _hex(char):
    """``char`` as the two hex digits of a ``#xx`` escape, either case."""
    return "".join(
        f"[{digit.upper()}{digit.lower()}]" if digit.isalpha() else digit
        for digit in f"{ord(char):02x}"
    ).encode()


def _spellings(text):
    """A pattern for ``text`` in a name however it is spelt: any character may
    be written as ``#xx``."""
    return b"".join(b"(?:" + re.escape(char.encode()) + b"|#" + _hex(char) + b")" for char in text)


def _names(*entries):
    """A pattern for the names in ``entries`` ((name, pattern that must follow)
    pairs), however spelt, ending where the name ends.

    Alternatives are grouped by first character, spelt out literally or as an
    escape, so the regular expression engine rejects most names after one
    byte comparison per group: on hostile input (20 MB of "/J#6...") the scan
    stays within about a second."""
    groups = {}
    for name, after in entries:
        groups.setdefault(name[0], []).append(_spellings(name[1:]) + _NAME_END + after)
    branches = []
    for first, rests in sorted(groups.items()):
        tail = b"(?:" + b"|".join(rests) + b")"
        branches.append(re.escape(first.encode()) + tail)
        branches.append(b"#" + _hex(first) + tail)
    first = re.escape("".join(sorted(groups)).encode())
    return b"/(?=[" + first + b"#])(?:" + b"|".join(branches) + b")"


def _decode_name(raw):
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda match: bytes.fromhex(match[1].decode()), raw)


ACTIVE_NAMES = (
    "JavaScript",
    "Launch",
    "SubmitForm",
    "ImportData",
    "GoToR",
    "GoToE",
    "Rendition",
    "EmbeddedFile",
    "EmbeddedFiles",
    "XFA",
    "RichMedia",
)
_ENCRYPT_ENTRY = ("Encrypt", b"(?=" + _SPACE + b"(?:<<|%|" + _REFERENCE + b"))")
# The names that matter, with what must follow each; one pattern, so the file
# is read once:
# - /Encrypt with its value (a dictionary or a reference);
# - the active names, wherever they appear; /OpenAction unless its value is a
#   destination array;
# - /JS and /AA followed by a value of theirs (a string, a dictionary or a
#   reference). They are refused outside stream data (see _scan_pdf_bytes).
_MARKERS = re.compile(
    _names(
        _ENCRYPT_ENTRY,
        *((name, b"") for name in ACTIVE_NAMES),
        ("OpenAction", b"(?!" + _SPACE + rb"\[)"),
        *((name, b"(?=" + _SPACE + b"(?:[<(%]|" + _REFERENCE + b"))") for name in ("JS", "AA")),
    )
)
_ENCRYPT = re.compile(_names(_ENCRYPT_ENTRY))
_KEYED_NAMES = (b"JS", b"AA")
# More /JS or /AA than this is no certificate; checking each against the
# stream regions would only cost memory.
_MAX_KEYED = 10_000

_STREAM_KEYWORD = re.compile(
    rb"(?<![^\x00\t\n\x0c\r ()<>\[\]{}/%])stream(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])"
)
_ENDSTREAM = re.compile(rb"endstream")
_EOL = re.compile(rb"\r\n?|\n")
_OBJECT_STREAM_TYPE = re.compile(_names(("ObjStm", b"")))
# Encodings pdfium applies to an object stream that this module cannot undo.
_UNCHECKABLE_ENCODING = re.compile(
    _names(
        ("LZWDecode", b""),
        ("LZW", b""),
        ("RunLengthDecode", b""),
        ("RL", b""),
        ("CCITTFaxDecode", b""),
        ("CCF", b""),
        ("DCTDecode", b""),
        ("DCT", b""),
        ("JBIG2Decode", b""),
        ("JPXDecode", b""),
        ("BrotliDecode", b""),
        ("Crypt", b""),
        ("Predictor", b""),
    )
)
# An object stream starts with pairs of integers: object number, offset.
# (Decoded data starts past the whitespace and comments, see _StreamStart.)
_OBJECT_STREAM_START = re.compile(rb"[+-]?\d++(?:[\x00\t\n\x0c\r ]++|%[^\r\n]*+)++[+-]?\d")
_WHITESPACE_RUN = re.compile(rb"[\x00\t\n\x0c\r ]*+")
# ASCIIHex data ends at ">", ASCII85 data at "~>".
_ASCII_HEX_RUN = re.compile(rb"[0-9A-Fa-f\x00\t\n\x0c\r ]*+")
_ASCII_85_RUN = re.compile(rb"(?:<~)?[!-uz\x00\t\n\x0c\r ]*+")

# How far before a "stream" keyword its dictionary is looked for.
_DICTIONARY_WINDOW = 4096
# Decoding layers tried on one stream (e.g. ASCII85, then Flate).
_MAX_LAYERS = 4
_INPUT_CHUNK = 64 * 1024
_OUTPUT_CHUNK = MB
# Enough of a stream's start to tell whether it is worth keeping.
_SNIFF_BYTES = 4096
# Comments skipped before deciding (whitespace is skipped without limit).
_MAX_LEADING_COMMENTS = MB
_LEADING_GAP = re.compile(rb"(?:[\x00\t\n\x0c\r ]++|%[^\r\n]*+[\r\n])*+")


class _Budget:
    """Inflated output and scanning work spent on one file."""

    def __init__(self, *, inflated, work):
        self.inflated_limit = self.inflated_left = inflated
        self.work_left = work

    def inflate(self, count):
        self.inflated_left -= count
        if self.inflated_left < 0:
            raise UploadError(
                "The PDF contains compressed data that expands to more than "
                f"{_format_bytes(self.inflated_limit)}; it cannot be checked."
            )

    def work(self, count):
        self.work_left -= count
        if self.work_left < 0:
            raise UploadError(PDF_TOO_COMPLEX)


def _scan_pdf_bytes(data):
    """Refuse encrypted PDFs and active content, looking at the raw bytes and
    inside every stream that decodes to (something like) an object stream."""
    keyed = []
    for match in _MARKERS.finditer(data):
        name = _decode_name(match.group()[1:])
        if name == b"Encrypt":
            raise UploadError(ENCRYPTED)
        if name not in _KEYED_NAMES or len(keyed) >= _MAX_KEYED:
            # Refused either way; an encrypted file is told so first.
            if _ENCRYPT.search(data, match.end()):
                raise UploadError(ENCRYPTED)
            raise UploadError(ACTIVE)
        keyed.append(match.start())
    budget = _Budget(
        inflated=getattr(settings, "CERTIFICATE_MAX_INFLATED_BYTES", DEFAULT_MAX_INFLATED_BYTES),
        work=4 * len(data) + 4 * MB,
    )
    view = memoryview(data)
    ends = [match.start() for match in _ENDSTREAM.finditer(data)]
    regions = []
    for keyword in _STREAM_KEYWORD.finditer(data):
        # pdfium starts a stream's data after the line the keyword is on.
        eol = _EOL.search(data, keyword.end(), keyword.end() + 256)
        start = eol.end() if eol else keyword.end()
        following = bisect.bisect_left(ends, start)
        end = ends[following] if following < len(ends) else len(data)
        regions.append((start, end))
        declared = _declares_object_stream(data, keyword.start(), budget)
        _scan_stream(view[start:end], declared=declared, budget=budget)
    # /JS and /AA count outside stream data (inside it, in what decodes to an
    # object stream, see _scan_stream).
    merged = _merge(regions)
    starts = [start for start, _end in merged]
    for position in keyed:
        index = bisect.bisect_right(starts, position) - 1
        if index < 0 or position >= merged[index][1]:
            raise UploadError(ACTIVE)


def _merge(regions):
    merged = []
    for start, end in sorted(regions):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _declares_object_stream(data, keyword_start, budget):
    """Whether the stream's dictionary says /Type /ObjStm; refuses object
    streams encoded in a way ``_scan_stream`` cannot undo."""
    window_start = max(0, keyword_start - _DICTIONARY_WINDOW)
    # The dictionary begins after the "obj" keyword (or a previous "endobj").
    begin = max(data.rfind(b"obj", window_start, keyword_start), window_start)
    budget.work(keyword_start - begin)
    dictionary = data[begin:keyword_start]
    if not _OBJECT_STREAM_TYPE.search(dictionary):
        return False
    if _UNCHECKABLE_ENCODING.search(dictionary):
        raise UploadError(PDF_UNCHECKABLE)
    return True


def _scan_stream(layer, *, declared, budget):
    """Scan a stream's data, and each decoding of it, that is or looks like an
    object stream.

    Work on the stored data is counted against the budget (streams found by a
    byte search may overlap); decoded data is bounded by the inflation limit."""
    for depth in range(_MAX_LAYERS):
        stored = depth == 0
        if declared or _looks_like_object_stream(layer):
            if stored:
                budget.work(len(layer))
            for match in _MARKERS.finditer(layer):
                if _decode_name(match.group()[1:]) != b"Encrypt":
                    raise UploadError(ACTIVE)
        layer = _decode(layer, declared=declared, budget=budget, stored=stored)
        if layer is None:
            return


def _is_zlib(data):
    # RFC 1950: deflate, window of at most 32 kB, header checksum.
    return (
        len(data) >= 2
        and data[0] & 0x0F == 8
        and data[0] >> 4 <= 7
        and (data[0] * 256 + data[1]) % 31 == 0
    )


def _looks_like_object_stream(layer):
    """Whether data starts, after whitespace and comments, with two integers."""
    start = _WHITESPACE_RUN.match(layer).end()
    if layer[start : start + 1] == b"%":
        start = _LEADING_GAP.match(layer, start, start + _SNIFF_BYTES).end()
    return _OBJECT_STREAM_START.match(layer, start, start + _SNIFF_BYTES) is not None


def _worth_keeping(prefix):
    """Whether the start of decoded data (past whitespace and comments) could
    be an object stream, now or after another decoding."""
    hex_run = _ASCII_HEX_RUN.match(prefix).end()
    ascii85_run = _ASCII_85_RUN.match(prefix).end()
    return bool(
        _OBJECT_STREAM_START.match(prefix)
        or _is_zlib(prefix)
        or hex_run == len(prefix)
        or prefix[hex_run : hex_run + 1] == b">"
        or ascii85_run == len(prefix)
        or prefix[ascii85_run : ascii85_run + 2] == b"~>"
    )


def _decode(layer, *, declared, budget, stored):
    """One decoding step (Flate, ASCIIHex or ASCII85), or None when none applies
    or the result is not worth scanning."""
    spend = budget.work if stored else lambda count: None
    if _is_zlib(layer):
        return _inflate(layer, declared=declared, budget=budget, spend=spend)
    run = _ASCII_HEX_RUN.match(layer).end()
    spend(run)
    if layer[run : run + 1] == b">":
        digits = bytes(layer[:run]).translate(None, _WHITESPACE)
        return binascii.unhexlify(digits + b"0" * (len(digits) % 2))
    run = _ASCII_85_RUN.match(layer).end()
    spend(run)
    if layer[run : run + 2] == b"~>":
        try:
            encoded = bytes(layer[: run + 2])
            return base64.a85decode(encoded, adobe=True, ignorechars=_WHITESPACE)
        except ValueError:
            return None
    return None


class _StreamStart:
    """The start of decoded data past the whitespace and comments that pdfium
    skips before an object stream's first number.

    ``feed`` returns the first _SNIFF_BYTES after them once that many have
    arrived. Whitespace is skipped at C speed whatever its length (a stream of
    zeros is the classic bomb); comments only up to _MAX_LEADING_COMMENTS."""

    def __init__(self):
        self.buffer = bytearray()
        self.in_comment = False
        self.comments = 0

    @property
    def exhausted(self):
        return self.comments > _MAX_LEADING_COMMENTS

    def feed(self, piece):
        if self.in_comment:
            eol = _EOL.search(piece)
            self.comments += eol.start() if eol else len(piece)
            if eol is None:
                return None
            piece = piece[eol.start() :]
            self.in_comment = False
        if not self.buffer and not piece.translate(None, _WHITESPACE):
            return None  # only whitespace so far (translate is the fast test)
        self.buffer += piece
        start = self.buffer.lstrip(_WHITESPACE)
        if start[:1] == b"%":
            gap = _LEADING_GAP.match(start).end()
            self.comments += gap
            start = start[gap:]
            if start[:1] == b"%":  # a comment that has not ended yet
                self.comments += len(start)
                self.in_comment = True
                start = bytearray()
        self.buffer = start
        return bytes(start[:_SNIFF_BYTES]) if len(start) >= _SNIFF_BYTES else None


def _inflate(layer, *, declared, budget, spend):
    """Inflate chunk by chunk within the budget.

    The output is kept, to be scanned, when the stream is declared an object
    stream or its start could be one (or could decode further); otherwise it
    is inflated only to be counted."""
    inflater = zlib.decompressobj()
    start = None if declared else _StreamStart()
    kept = bytearray() if declared else None
    pos = 0
    while pos < len(layer) and not inflater.eof:
        chunk = layer[pos : pos + _INPUT_CHUNK]
        try:
            piece = inflater.decompress(chunk, _OUTPUT_CHUNK)
        except zlib.error:
            break  # pdfium, too, uses what inflated before the error
        consumed = len(chunk) - len(inflater.unconsumed_tail) - len(inflater.unused_data)
        if not consumed and not piece:
            break
        pos += consumed
        spend(consumed)
        budget.inflate(len(piece))
        if start is not None:
            head = start.feed(piece)
            if head is None and not start.exhausted:
                continue
            kept = start.buffer if head is not None and _worth_keeping(head) else None
            start = None
        elif kept is not None:
            kept += piece
        if kept is not None and len(kept) > MAX_SCANNED_STREAM_BYTES:
            if declared:
                raise UploadError(
                    "The PDF contains a compressed object stream larger than "
                    f"{_format_bytes(MAX_SCANNED_STREAM_BYTES)}; it cannot be checked."
                )
            kept = None  # a big content stream, say: counted, not scanned
    if start is not None and _worth_keeping(bytes(start.buffer)):
        kept = start.buffer
    return bytes(kept) if kept else None


# --------------------------------------------------------------------------- PDFs via pdfium

# pdfium is not thread-safe.
_PDFIUM_LOCK = threading.Lock()


def _check_pdf(data):
    _scan_pdf_bytes(data)
    page_count, text = _read_pdf(data)
    return CheckedFile(
        data=data, content_type=PDF, extension=".pdf", page_count=page_count, text=text
    )


def _open_pdf(data):
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise UploadError(ENCRYPTED) from None
        raise UploadError(PDF_INVALID) from None


def _read_pdf(data):
    """(page count, text layer) after pdfium's own checks."""
    max_pages = getattr(settings, "CERTIFICATE_MAX_PAGES", DEFAULT_MAX_PAGES)
    with _PDFIUM_LOCK:
        pdf = _open_pdf(data)
        try:
            if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
                raise UploadError(ENCRYPTED)
            page_count = len(pdf)
            if page_count < 1:
                raise UploadError(PDF_NO_PAGES)
            if page_count > max_pages:
                raise UploadError(f"The PDF has {page_count} pages; the limit is {max_pages}.")
            if (
                pdfium_c.FPDFDoc_GetAttachmentCount(pdf.raw) > 0
                or pdfium_c.FPDFDoc_GetJavaScriptActionCount(pdf.raw) > 0
                or pdfium_c.FPDF_GetFormType(pdf.raw)
                in (pdfium_c.FORMTYPE_XFA_FULL, pdfium_c.FORMTYPE_XFA_FOREGROUND)
            ):
                raise UploadError(ACTIVE)
            texts = [_page_text(pdf, index) for index in range(page_count)]
        except pdfium.PdfiumError:
            raise UploadError(PDF_INVALID) from None
        finally:
            pdf.close()
    return page_count, "\n".join(texts)


def _page_text(pdf, index):
    page = pdf[index]
    try:
        if index == 0 and min(page.get_size()) <= 0:
            raise UploadError(PDF_INVALID)
        for trigger in (pdfium_c.FPDFPAGE_AACTION_OPEN, pdfium_c.FPDFPAGE_AACTION_CLOSE):
            if pdfium_c.FPDF_GetPageAAction(page.raw, trigger):
                raise UploadError(ACTIVE)
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range().replace("\r\n", "\n")
        finally:
            textpage.close()
    finally:
        page.close()


# --------------------------------------------------------------------------- previews


def preview_png(checked: CheckedFile, *, width: int = 900) -> bytes:
    """The first page, or the image, as PNG bytes ``width`` pixels wide.

    PDF pages are rendered at that width; images wider than it are scaled down,
    narrower ones are left as they are. Either is at most PREVIEW_MAX_ASPECT
    times as tall as wide (a taller page or image comes out narrower)."""
    if width < 1:
        raise ValueError("The preview width must be positive.")
    if checked.content_type == PDF:
        image = _render_first_page(checked.data, width)
    else:
        kind = KINDS[checked.content_type]
        with Image.open(io.BytesIO(checked.data), formats=[kind.pillow_format]) as source:
            _check_pixels(source.size)
            source.load()
            image = source.convert(
                "RGBA" if _has_alpha(source, source.info.get("transparency")) else "RGB"
            )
        image.thumbnail((width, width * PREVIEW_MAX_ASPECT), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _render_first_page(data, width):
    with _PDFIUM_LOCK:
        pdf = _open_pdf(data)
        try:
            page = pdf[0]
            try:
                page_width, page_height = page.get_size()
                if page_width <= 0 or page_height <= 0:
                    raise UploadError(PDF_INVALID)
                scale = min(width / page_width, width * PREVIEW_MAX_ASPECT / page_height)
                bitmap = page.render(scale=scale, may_draw_forms=False)
                try:
                    image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap is freed below
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            pdf.close()
    target = min(width, max(1, round(page_width * scale)))
    if image.width != target:
        image = image.resize((target, max(1, round(image.height * target / image.width))))
    return image


def store_preview(png: bytes) -> str:
    """Save a preview under a fresh random name; returns the storage name."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("A preview must be a PNG.")
    name = f"previews/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"
    return default_storage.save(name, ContentFile(png))


def within_storage(name) -> bool:
    """Whether the storage name resolves (symbolic links followed) to a path
    inside MEDIA_ROOT. Checked before a file is served."""
    if not name:
        return False
    try:
        root = Path(settings.MEDIA_ROOT).resolve()
        path = (root / name).resolve()
    except (OSError, TypeError, ValueError):
        return False
    return path != root and path.is_relative_to(root)
