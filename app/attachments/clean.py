"""Cleaning a file before it is stored: its type decided from its content against an allow-list,
and everything that could give the person away taken out (docs/attachments.md).

Output goes straight into a `SealingWriter`: cleaned content is never written in clear. One file
is decoded at a time per process, which bounds memory.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

import filetype
import pikepdf
import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from app.errors import AppError

pillow_heif.register_heif_opener()
# The pixel cap is checked before decoding (SAFESHARE_ATTACHMENT_MAX_MEGAPIXELS); Pillow's own
# warning threshold would otherwise log for every large phone photo.
Image.MAX_IMAGE_PIXELS = None

# One file decoded at a time per process: the memory budget is per file, not per request.
_ONE_AT_A_TIME = threading.BoundedSemaphore(1)
SNIFF_BYTES = 8192
# Where cleaned bytes go: a file, or the sealing writer of app.crypto.stream.
Sink = IO[bytes] | io.RawIOBase


class UnsupportedType(AppError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-type"


class FileTooLarge(AppError):
    status, title, slug = 413, "Content Too Large", "content-too-large"


class CannotClean(AppError):
    """The file is of an allowed type but cannot be cleaned (damaged, protected): not stored."""

    status, title, slug = 422, "File cannot be cleaned", "cannot-clean"

    def __init__(self, detail: str, **kw: Any) -> None:
        # A 422 names its field, like every validation problem (the upload's `file`).
        kw.setdefault("errors", [{"field": "file", "message": detail}])
        super().__init__(detail, **kw)


ALLOWED_TEXT = "photos (JPEG, PNG or HEIC), PDF documents and plain text files"


@dataclass(frozen=True)
class Kind:
    content_type: str
    extension: str
    noun: str


JPEG = Kind("image/jpeg", ".jpg", "photo")
PNG = Kind("image/png", ".png", "image")
PDF = Kind("application/pdf", ".pdf", "document")
TEXT = Kind("text/plain; charset=utf-8", ".txt", "text")
TEXT_EXTENSIONS = {".txt", ".csv", ".log", ".md", ".text"}

WORD_MESSAGE = (
    "Word documents cannot be attached: they keep their author's name, comments and tracked changes in ways "
    "we cannot reliably remove. Save it as a PDF (File, Save As, PDF) and attach that instead."
)

# What cleaning removed, in the words shown to the person who attached the file.
GPS = "location (GPS)"
DEVICE = "camera or phone make and model"
TAKEN = "date and time taken"
SOFTWARE = "software used"
OWNER = "owner or artist name"
MAKER_NOTES = "maker notes"
EXIF_OTHER = "other photo details (EXIF)"
XMP = "XMP metadata"
IPTC = "IPTC details (captions, names, places)"
COMMENT = "comments stored in the file"
PNG_TEXT = "text details (such as author or software)"
PROFILE = "colour profile (colours converted to standard sRGB)"
ORIENTATION = "orientation flag (the picture is turned the right way up instead)"
DOCINFO = "document properties (author, title, software, dates)"
JAVASCRIPT = "JavaScript"
ACTIONS = "automatic actions"
FORM_ACTIONS = "form actions and scripts"
LINKS = "links to web addresses (the text stays, it is no longer a link)"
EMBEDDED = "embedded files"
MEDIA = "embedded sound, video or 3D content"
COMMENT_AUTHORS = "names and dates on comments"
APP_DATA = "data private to the program that made it"
IMAGE_DETAILS = "photo details inside its images"
DOCUMENT_ID = "document identifier"
FILENAME_TIME = "the date and time in the file's name"


@dataclass
class Cleaned:
    kind: Kind
    filename: str
    removed: list[str] = field(default_factory=list)


def clean(source: IO[bytes], *, filename: str, max_pixels: int, out: Sink) -> Cleaned:
    """Type the file from its content, clean it into `out`, and say what was removed.

    On a refusal (415, 413, 422) `out` holds nothing usable and must be dropped.
    """
    source.seek(0)
    head = source.read(SNIFF_BYTES)
    source.seek(0)
    if not head:
        raise CannotClean(f"{display_name(filename)} is empty.")
    guess = filetype.guess(head)
    mime = guess.mime if guess is not None else None
    with _ONE_AT_A_TIME:
        if mime == "image/jpeg":
            kind, removed = _clean_image(source, ("JPEG", "MPO"), JPEG, max_pixels, out, filename)
        elif mime == "image/png":
            kind, removed = _clean_image(source, ("PNG",), PNG, max_pixels, out, filename)
        elif mime in ("image/heic", "image/heif"):
            kind, removed = _clean_image(source, ("HEIF",), JPEG, max_pixels, out, filename)
        elif mime == "application/pdf":
            kind, removed = PDF, _clean_pdf(source, out, filename)
        elif mime is None and _looks_like_text(head):
            kind, removed = TEXT, _clean_text(source, out, filename)
        else:
            raise UnsupportedType(_refusal(filename, guess))
    name, renamed = safe_filename(filename, kind)
    if renamed:
        removed.append(FILENAME_TIME)
    return Cleaned(kind, name, removed)


def _refusal(filename: str, guess: Any) -> str:
    shown = display_name(filename)
    if guess is not None and (guess.extension in ("doc", "docx", "odt", "rtf") or "word" in guess.mime):
        return f"{shown}: {WORD_MESSAGE}"
    what = f" ({guess.extension.upper()} files)" if guess is not None else ""
    return f"{shown} cannot be attached: this kind of file{what} is not accepted. You can attach {ALLOWED_TEXT}."


# --- images -------------------------------------------------------------------------------------


def _clean_image(source: IO[bytes], formats: tuple[str, ...], kind: Kind, max_pixels: int, out: Sink,
                 filename: str) -> tuple[Kind, list[str]]:
    try:
        image = Image.open(source, formats=list(formats))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CannotClean(f"{display_name(filename)} looks like an image but cannot be read. It may be damaged.") from exc
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise FileTooLarge(
                f"{display_name(filename)} is {width * height / 1e6:.0f} megapixels; the most we take is "
                f"{max_pixels / 1e6:.0f}. Send a smaller copy (a screenshot, or the phone's “share as smaller size”)."
            )
        removed = _image_details(image)
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels = _to_srgb(upright, kind)
            pixels.info = {}
            if kind is JPEG:
                pixels.save(cast(IO[bytes], out), "JPEG", quality=90, exif=b"", comment=b"")
            else:
                pixels.save(cast(IO[bytes], out), "PNG", exif=b"")
        except FileTooLarge:
            raise
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise CannotClean(f"{display_name(filename)} could not be read to the end. It may be damaged.") from exc
    return kind, removed


def _image_details(image: Image.Image) -> list[str]:
    """What the image carries besides its pixels, before it is dropped."""
    removed: list[str] = []
    exif = image.getexif()
    ifd = exif.get_ifd(0x8769)  # the Exif IFD: times, exposure, maker notes
    if exif.get_ifd(0x8825) or 0x8825 in exif:
        removed.append(GPS)
    if exif.get(0x010F) or exif.get(0x0110) or ifd.get(0xA433) or ifd.get(0xA434):
        removed.append(DEVICE)
    if exif.get(0x0132) or ifd.get(0x9003) or ifd.get(0x9004):
        removed.append(TAKEN)
    if exif.get(0x0131):
        removed.append(SOFTWARE)
    if exif.get(0x013B) or exif.get(0x8298) or ifd.get(0xA430):
        removed.append(OWNER)
    if ifd.get(0x927C):
        removed.append(MAKER_NOTES)
    orientation = exif.get(0x0112)
    if orientation not in (None, 1):
        removed.append(ORIENTATION)
    named = {0x8825, 0x010F, 0x0110, 0x0132, 0x0131, 0x013B, 0x8298, 0x0112, 0x8769}
    if set(exif) - named or set(ifd) - {0x9003, 0x9004, 0x927C, 0xA430, 0xA433, 0xA434}:
        removed.append(EXIF_OTHER)
    info = image.info
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        removed.append(XMP)
    if info.get("photoshop"):
        removed.append(IPTC)
    if info.get("comment"):
        removed.append(COMMENT)
    if getattr(image, "text", None):
        removed.append(PNG_TEXT)
    if info.get("icc_profile"):
        removed.append(PROFILE)
    return list(dict.fromkeys(removed))


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(image: Image.Image, kind: Kind) -> Image.Image:
    """The pixels in sRGB in a mode the output format takes; the profile itself is dropped."""
    icc = image.info.get("icc_profile")
    if kind is JPEG and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif kind is PNG and image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    if icc and image.mode in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the pixels are kept as they are, the profile is dropped all the same
    return image


# --- PDF ----------------------------------------------------------------------------------------

_MARKUP = {"/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
           "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Popup", "/Redact"}
_MEDIA = {"/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
_DROP_ANNOTS = _MEDIA | {"/FileAttachment"}


def _clean_pdf(source: IO[bytes], out: Sink, filename: str) -> list[str]:
    shown = display_name(filename)
    try:
        # Read as a stream, not mapped into memory: the original is read once, as qpdf needs it.
        pdf = pikepdf.open(cast(BinaryIO, source), access_mode=pikepdf.AccessMode.stream)
    except pikepdf.PasswordError as exc:
        raise CannotClean(f"{shown} is protected with a password, so it cannot be checked and cleaned. "
                          "Save a copy without the password and attach that.") from exc
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise CannotClean(f"{shown} looks like a PDF but cannot be read. It may be damaged.") from exc
    removed: set[str] = set()
    try:
        with pdf:
            _clean_pdf_objects(pdf, removed)
            # Streams are copied as they are (not recompressed): one stream in memory at a time, at most.
            pdf.save(cast(BinaryIO, out), encryption=False, deterministic_id=True, fix_metadata_version=False,
                     compress_streams=False, recompress_flate=False)
    except CannotClean:
        raise
    except (pikepdf.PdfError, OSError, ValueError, TypeError, KeyError) as exc:
        raise CannotClean(f"{shown} could not be cleaned, so it was not stored. It may be damaged; "
                          "try printing it to a new PDF and attach that.") from exc
    order = [DOCINFO, XMP, JAVASCRIPT, ACTIONS, FORM_ACTIONS, LINKS, EMBEDDED, MEDIA, COMMENT_AUTHORS, APP_DATA,
             IMAGE_DETAILS, DOCUMENT_ID]
    return [r for r in order if r in removed]


def _clean_pdf_objects(pdf: pikepdf.Pdf, removed: set[str]) -> None:
    trailer = pdf.trailer
    if "/Info" in trailer:
        if len(trailer.Info.keys()) > 0:
            removed.add(DOCINFO)
        del trailer["/Info"]
    if "/ID" in trailer:
        removed.add(DOCUMENT_ID)  # written anew from the cleaned content (deterministic_id)
        del trailer["/ID"]
    root = pdf.Root
    opening = root.get("/OpenAction")
    if isinstance(opening, pikepdf.Dictionary) and str(opening.get("/S", "")) == "/JavaScript":
        removed.add(JAVASCRIPT)
    for key, label in (("/OpenAction", ACTIONS), ("/AA", ACTIONS), ("/Collection", EMBEDDED), ("/AF", EMBEDDED),
                       ("/URI", LINKS), ("/SpiderInfo", APP_DATA)):
        if key in root:
            removed.add(label)
            del root[key]
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key, label in (("/JavaScript", JAVASCRIPT), ("/EmbeddedFiles", EMBEDDED)):
            if key in names:
                removed.add(label)
                del names[key]
    form = root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary) and "/XFA" in form:
        removed.add(FORM_ACTIONS)
        del form["/XFA"]
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if isinstance(annots, pikepdf.Array):
            kept = pikepdf.Array()
            for annot in annots:
                subtype = annot.get("/Subtype") if isinstance(annot, pikepdf.Dictionary) else None
                if subtype is not None and str(subtype) in _DROP_ANNOTS:
                    removed.add(EMBEDDED if str(subtype) == "/FileAttachment" else MEDIA)
                    continue
                kept.append(annot)
            page.obj["/Annots"] = kept
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            _clean_pdf_object(obj, removed)


def _clean_pdf_object(obj: Any, removed: set[str]) -> None:
    for key, label in (("/Metadata", XMP), ("/PieceInfo", APP_DATA), ("/AA", ACTIONS), ("/AF", EMBEDDED)):
        if key in obj:
            removed.add(label)
            del obj[key]
    action = obj.get("/A")
    if isinstance(action, pikepdf.Dictionary):
        kind = str(action.get("/S", ""))
        if kind != "/GoTo" or "/Next" in action:  # only a jump inside the document stays
            removed.add(JAVASCRIPT if kind == "/JavaScript" else LINKS if kind == "/URI"
                        else FORM_ACTIONS if kind in ("/SubmitForm", "/ResetForm", "/ImportData") else ACTIONS)
            del obj["/A"]
    if obj.get("/Type") == "/Action":
        kind = str(obj.get("/S", ""))
        if kind in ("/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/Rendition"):
            removed.add(JAVASCRIPT if kind == "/JavaScript" else ACTIONS)
            for key in list(obj.keys()):
                if key not in ("/Type",):
                    del obj[key]
            obj["/S"] = pikepdf.Name("/GoTo")
            obj["/D"] = pikepdf.Array()
    if "/JS" in obj:
        removed.add(JAVASCRIPT)
        del obj["/JS"]
    if str(obj.get("/Subtype", "")) in _MARKUP:
        for key in ("/T", "/M", "/CreationDate"):
            if key in obj:
                removed.add(COMMENT_AUTHORS)
                del obj[key]
    if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
        filters = obj.get("/Filter")
        if filters == "/DCTDecode" or (isinstance(filters, pikepdf.Array) and list(filters) == ["/DCTDecode"]):
            raw = obj.read_raw_bytes()
            try:
                stripped, changed = strip_jpeg_segments(raw)
            except ValueError as exc:
                raise CannotClean("An image inside the PDF is damaged, so the PDF could not be cleaned.") from exc
            if changed:
                removed.add(IMAGE_DETAILS)
                obj.write(stripped, filter=pikepdf.Name("/DCTDecode"))


def strip_jpeg_segments(data: bytes) -> tuple[bytes, bool]:
    """A JPEG without APP1-APP13, APP15 and comments (EXIF, XMP, IPTC, ICC, maker data); APP0 and
    APP14 (how the colours are coded) stay.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    i, changed = 2, False
    while True:
        if i >= len(data) or data[i] != 0xFF:
            raise ValueError("malformed JPEG")
        while i < len(data) and data[i] == 0xFF:
            i += 1
        if i >= len(data):
            raise ValueError("malformed JPEG")
        marker = data[i]
        i += 1
        if marker == 0xD9:
            out += b"\xff\xd9"
            return bytes(out), changed
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += bytes((0xFF, marker))
            continue
        if i + 2 > len(data):
            raise ValueError("malformed JPEG")
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2 or i + length > len(data):
            raise ValueError("malformed JPEG")
        if marker == 0xDA:  # start of scan: the rest is image data (metadata comes before it)
            out += b"\xff\xda" + data[i:]
            return bytes(out), changed
        if (0xE1 <= marker <= 0xEF and marker != 0xEE) or marker == 0xFE:
            changed = True
        else:
            out += bytes((0xFF, marker)) + data[i:i + length]
        i += length


# --- plain text ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the end of the sample
            text = head[:exc.start].decode("utf-8")
        else:
            try:
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    return _CONTROL.search(text) is None


def _clean_text(source: IO[bytes], out: Sink, filename: str) -> list[str]:
    encoding = is_plain_text(source)
    if encoding is None:
        raise UnsupportedType(f"{display_name(filename)} is not plain text we can read. You can attach {ALLOWED_TEXT}.")
    _recode(source, out, encoding)
    return []


def _recode(source: IO[bytes], out: Sink, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    while True:
        block = source.read(64 * 1024)
        text = decoder.decode(block, final=not block)
        if _CONTROL.search(text):
            raise UnicodeDecodeError(encoding, b"", 0, 1, "control character")
        out.write(text.encode("utf-8"))
        if not block:
            return


def is_plain_text(source: IO[bytes]) -> str | None:
    """The encoding a text file will be read with, or None (checked before writing anything)."""
    head = source.read(4)
    source.seek(0)
    candidates = ["utf-16"] if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else ["utf-8-sig", "cp1252"]
    for encoding in candidates:
        source.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            while True:
                block = source.read(64 * 1024)
                text = decoder.decode(block, final=not block)
                if _CONTROL.search(text):
                    raise UnicodeDecodeError(encoding, b"", 0, 1, "control character")
                if not block:
                    source.seek(0)
                    return encoding
        except UnicodeDecodeError:
            continue
    source.seek(0)
    return None


# --- names --------------------------------------------------------------------------------------

# Phones and computers name photos and screenshots by when they were taken: 20260131_221500,
# IMG-20260131-WA0001, "Screenshot 2026-01-31 at 22.15.00".
_TIMESTAMP = re.compile(r"(19|20)\d{2}[-_.]?\d{2}[-_.]?\d{2}([-_. ]?(at )?\d{2}[-_.]?\d{2}([-_.]?\d{2})?)?"
                        r"|(19|20)\d{2}-\d{2}-\d{2}")


def display_name(filename: str) -> str:
    """The name as the person chose it, safe to show (no path, no control characters, not too long)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    return (name[:80] + "…") if len(name) > 81 else (name or "The file")


def safe_filename(filename: str, kind: Kind) -> tuple[str, bool]:
    """The name to store: the person's own, without path or control characters, with the stored
    extension; a name that records when a photo was taken becomes a plain one.
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    stem, ext = os.path.splitext(base.strip().strip("."))
    stem = stem.strip()[:100] or kind.noun
    renamed = False
    if _TIMESTAMP.search(stem):
        lowered = stem.lower()
        stem = "screenshot" if "screenshot" in lowered or "screen shot" in lowered else kind.noun
        renamed = True
    if kind is TEXT and ext.lower() in TEXT_EXTENSIONS:
        extension = ext.lower()
    else:
        extension = kind.extension
    return stem + extension, renamed
