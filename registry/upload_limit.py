"""Stop an oversized upload before its body is read.

Django has no overall limit on file parts (``DATA_UPLOAD_MAX_MEMORY_SIZE``
ignores them). This handler, first in ``FILE_UPLOAD_HANDLERS``, refuses a
request whose declared length is over the limit before reading it, and stops
any file part as soon as it passes the limit; the view then reports the
refusal. The web server in front should carry the same limit.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# Room for the other form fields and multipart framing around the file.
ENVELOPE = 64 * 1024


class UploadLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.CERTIFICATE_MAX_UPLOAD_BYTES
        self.received = 0

    def _refuse(self):
        if self.request is not None:
            self.request.upload_too_large = True
        raise StopUpload(connection_reset=True)

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + ENVELOPE:
            self._refuse()

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large(request):
    return getattr(request, "upload_too_large", False)


def limit_message():
    return f"The file is larger than {settings.CERTIFICATE_MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
