"""Reading the files a user attaches, in memory, within the deployment's limits: a text or code file as UTF-8, a PDF's
text layer (pypdf), an image checked to be the kind its name says. Any refusal is an InvalidInput naming the file
and what to do, raised before anything is kept or sent."""

from __future__ import annotations

import io
from collections.abc import Sequence

from core.chat.attachments import (
    ACCEPTED_EXTENSIONS,
    IMAGE_TYPES,
    PDF,
    TEXT_EXTENSIONS,
    Attachment,
    Upload,
    clean_name,
    extension_of,
    size_text,
)
from core.config import AttachmentLimits
from core.errors import InvalidInput
from core.text import strip_unsafe

FIELD = "attachments"
# The first bytes of each image kind: an image is sent as the kind its bytes are, whatever its name says.
IMAGE_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
TEXT_TYPES = {"md": "text/markdown", "markdown": "text/markdown", "csv": "text/csv", "json": "application/json"}


def refuse(message: str) -> InvalidInput:
    return InvalidInput(message, FIELD)


def read_files(uploads: Sequence[Upload], limits: AttachmentLimits) -> list[Attachment]:
    """Each upload as an attachment, in order; InvalidInput for the first file (or the whole) over a limit."""
    if len(uploads) > limits.max_files:
        raise refuse(f"{len(uploads)} files are attached; a message takes at most {limits.max_files}. Remove some.")
    total = sum(len(upload.data) for upload in uploads)
    if total > limits.max_total_bytes:
        raise refuse(
            f"The attached files come to {size_text(total)}; a message takes at most "
            f"{size_text(limits.max_total_bytes)} in all. Attach fewer or smaller files."
        )
    attachments = [read_file(upload, limits) for upload in uploads]
    text_chars = sum(len(a.text or "") for a in attachments)
    if text_chars > limits.max_text_chars:
        raise refuse(
            f"The attached files hold {text_chars:,} characters of text; a message takes at most "
            f"{limits.max_text_chars:,}. Attach less, or only the parts that matter."
        )
    return attachments


def read_file(upload: Upload, limits: AttachmentLimits) -> Attachment:
    """One upload as an attachment (see the module's docstring)."""
    name, size = clean_name(upload.name), len(upload.data)
    extension = extension_of(name)
    if extension in TEXT_EXTENSIONS:
        _within(name, size, limits.max_text_bytes, "a text file")
        return Attachment(name, TEXT_TYPES.get(extension, "text/plain"), size, text=_decoded(name, upload.data))
    if extension == PDF:
        _within(name, size, limits.max_file_bytes, "a PDF")
        return Attachment(name, "application/pdf", size, text=pdf_text(name, upload.data, limits.max_text_chars))
    if extension in IMAGE_TYPES:
        _within(name, size, limits.max_file_bytes, "an image")
        return Attachment(name, _image_type(name, upload.data), size, data=upload.data)
    kinds = ", ".join(f".{each}" for each in ACCEPTED_EXTENSIONS)
    raise refuse(f"{name} is not a file a message can carry. Attach text or code files, PDFs or images ({kinds}).")


def _within(name: str, size: int, limit: int, kind: str) -> None:
    if size > limit:
        raise refuse(f"{name} is {size_text(size)}; {kind} may be at most {size_text(limit)}.")
    if size == 0:
        raise refuse(f"{name} is empty.")


def _decoded(name: str, data: bytes) -> str:
    """A text file's text: UTF-8 (a byte-order mark dropped); a binary file or another encoding is refused."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # no text file holds a NUL byte
        raise refuse(
            f"{name} is not UTF-8 text (it looks binary, or uses another encoding). Save it as UTF-8, or attach a "
            "text, code, PDF or image file."
        )
    return strip_unsafe(text)


def _image_type(name: str, data: bytes) -> str:
    """The image's media type from its first bytes; a file that is no PNG, JPEG, GIF or WebP is refused."""
    for media_type, signatures in IMAGE_SIGNATURES.items():
        if data.startswith(signatures):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise refuse(f"{name} is not a PNG, JPEG, GIF or WebP image.")


def pdf_text(name: str, data: bytes, max_chars: int) -> str:
    """The text of a PDF's pages, page after page; a PDF without a text layer (a scan), one that is encrypted or
    broken, or one with more text than `max_chars`, is refused."""
    try:
        from pypdf import PdfReader  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise refuse(f"{name}: this server cannot read PDFs (pypdf is not installed). Ask the admin.") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise refuse(f"{name} is password-protected. Attach a copy without a password.")
        pages, length = [], 0
        for page in reader.pages:
            text = strip_unsafe(page.extract_text() or "").strip()
            length += len(text)
            if length > max_chars:
                raise refuse(f"{name} holds more than {max_chars:,} characters of text. Attach only the pages needed.")
            pages.append(text)
    except InvalidInput:
        raise
    except Exception:  # pypdf's many ways of saying a file is not a readable PDF
        raise refuse(f"{name} could not be read as a PDF (it may be damaged). Attach another copy.") from None
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise refuse(
            f"{name} has no text to read (a scanned PDF is pictures of pages). Attach a PDF with a text layer, or "
            "the pages as images to a model that accepts images."
        )
    return text
