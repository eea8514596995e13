"""Files with real metadata, made in the test: what a phone photo, a screenshot and an office PDF carry.

Every value here is one that cleaning must remove and that `exiftool` can find in the original.
"""

from __future__ import annotations

import io
import zipfile

import pikepdf
import pillow_heif
from PIL import Image, PngImagePlugin

pillow_heif.register_heif_opener()

# What each original carries, as exiftool prints it (values searched for in its output).
SECRETS = ("iPhone 15 Pro", "Apple", "51 deg", "Jane Reporter", "Acme Fire Service", "Pixel 8",
           "SecretSoftware", "Hidden Comment", "xmp-secret-creator")


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15 Pro"  # Model
    exif[0x0131] = "SecretSoftware 1.0"  # Software
    exif[0x013B] = "Jane Reporter"  # Artist
    exif[0x0132] = "2026:01:31 22:15:00"  # DateTime
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}  # GPS IFD
    exif[0x8769] = {0x9003: "2026:01:31 22:15:00", 0x927C: b"Apple iOS\x00maker-notes"}
    return exif


XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>xmp-secret-creator</rdf:li>'
       b'</rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def phone_photo(width: int = 64, height: int = 48, *, orientation: int = 6, quality: int = 90) -> bytes:
    """A JPEG as a phone takes it: GPS, make and model, time taken, maker notes, XMP, a comment,
    and an orientation flag (6: the pixels are stored on their side). The left half is red."""
    image = Image.new("RGB", (width, height), (20, 20, 200))
    image.paste((220, 20, 20), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=_exif(orientation).tobytes(), xmp=XMP, comment=b"Hidden Comment", quality=quality)
    return out.getvalue()


def noisy_photo(width: int, height: int) -> bytes:
    """A photo-sized JPEG whose pixels do not compress to nothing (random noise at low contrast)."""
    import os

    image = Image.frombytes("L", (width, height), os.urandom(width * height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", exif=_exif(6).tobytes(), quality=85)
    return out.getvalue()


def screenshot_png() -> bytes:
    """A PNG with text chunks naming its author and software, and EXIF."""
    image = Image.new("RGBA", (40, 30), (10, 200, 10, 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Reporter")
    info.add_text("Software", "SecretSoftware")
    info.add_itxt("Comment", "Hidden Comment")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=_exif().tobytes())
    return out.getvalue()


def iphone_heic() -> bytes:
    image = Image.new("RGB", (48, 32), (200, 120, 10))
    exif = _exif(1)
    exif[0x0110] = "iPhone 15 Pro"
    out = io.BytesIO()
    image.save(out, "HEIF", exif=exif.tobytes(), xmp=XMP)
    return out.getvalue()


def office_pdf(*, with_password: bool = False) -> bytes:
    """A PDF as an office suite writes it: author and organisation, XMP, JavaScript that runs on
    opening, an embedded file, a form that submits elsewhere, a comment with its author, a web
    link, and a JPEG image carrying GPS."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    pdf.docinfo["/Author"] = "Jane Reporter"
    pdf.docinfo["/Creator"] = "SecretSoftware"
    pdf.docinfo["/Company"] = "Acme Fire Service"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = ["xmp-secret-creator"]
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hi')"))
    spec = pikepdf.AttachedFileSpec(pdf, b"the hidden attachment", filename="hidden.txt")
    pdf.attachments["hidden.txt"] = spec
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 50, 50],
                              A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://tracker.invalid/x")))
    note = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text, Rect=[60, 60, 80, 80],
                              Contents=pikepdf.String("a remark"), T=pikepdf.String("Jane Reporter"))
    submit = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, Rect=[90, 90, 120, 100],
                                FT=pikepdf.Name.Btn, T=pikepdf.String("send"),
                                A=pikepdf.Dictionary(S=pikepdf.Name.SubmitForm,
                                                     F=pikepdf.String("https://collector.invalid/")))
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link), pdf.make_indirect(note),
                                                       pdf.make_indirect(submit)]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([page.obj.Annots[2]]))
    photo = phone_photo(16, 16, orientation=1)
    image = pikepdf.Stream(pdf, photo, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=16, Height=16,
                           ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode)
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(b"q 100 0 0 100 50 50 cm /Im0 Do Q")
    out = io.BytesIO()
    if with_password:
        pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    else:
        pdf.save(out)
    return out.getvalue()


def word_document() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("docProps/core.xml", "<dc:creator>Jane Reporter</dc:creator>")
    return out.getvalue()
