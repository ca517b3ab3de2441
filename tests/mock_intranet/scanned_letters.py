"""French letters as a service receives them: their fields, their text, and their scans.

A letter carries a dossier reference (DOS-2026-0001), a SIRET (Luhn-valid), an IBAN (valid check digits), a date
and an amount in euros, from a sender whose name often has accents. `scan` renders its text with a real font
(DejaVu) onto a page at 200-300 dpi, adds paper noise and a slight skew (±2°), as a flatbed scanner would, and
`save_scan_pdf` packs the image into a PDF with no text layer. Everything is drawn from the seeded `random.Random`
given, so a seed gives the same letters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faker import Faker

from .siret import luhn_check_digit

if TYPE_CHECKING:
    from PIL.Image import Image

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SERIF_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
MONTHS = ("janvier février mars avril mai juin juillet août septembre octobre novembre décembre").split()
OBJECTS = (
    "demande de subvention",
    "demande d'aide au logement",
    "réclamation sur facture",
    "pièces complémentaires",
    "renouvellement de l'agrément",
    "contestation d'une décision",
)
# Names with accents, since a reader that loses them loses the sender.
ACCENTED_NAMES = ("Hélène Lefèvre", "François Bénard", "Zoé Châtelet", "Jérôme Müller", "Agnès Dupré-Noël")


def french_amount(amount: Decimal) -> str:
    """1234.5 -> "1 234,50 €" (a narrow no-break space between thousands, as French typography wants)."""
    whole, cents = f"{amount:.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{' '.join(groups)},{cents} €"


def french_date(day: date) -> str:
    """A date in words: "3 mars 2026" ("1er" for the first)."""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def siret(rng: random.Random) -> str:
    """A SIRET that passes the Luhn check."""
    digits = "".join(str(rng.randrange(10)) for _ in range(13))
    return digits + luhn_check_digit(digits)


def french_iban(rng: random.Random) -> str:
    """A French IBAN with a valid RIB key and valid check digits, in groups of four."""
    bank, branch = f"{rng.randrange(10000, 99999)}", f"{rng.randrange(10000):05d}"
    account = "".join(str(rng.randrange(10)) for _ in range(11))
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{key:02d}"
    check = 98 - int(bban + "152700") % 97  # F=15, R=27, then "00"
    iban = f"FR{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


@dataclass(frozen=True)
class Letter:
    """One letter's fields."""

    reference: str
    sender: str
    address: str
    city: str
    company: str
    siret: str
    iban: str
    sent: date
    amount: Decimal
    subject: str

    @property
    def siret_shown(self) -> str:
        """The SIRET as printed: "123 456 789 00012"."""
        return f"{self.siret[:3]} {self.siret[3:6]} {self.siret[6:9]} {self.siret[9:]}"

    def lines(self) -> list[str]:
        """The letter's text, line by line."""
        return [
            self.sender,
            self.address,
            self.city,
            "",
            f"{self.city.split(' ', 1)[-1]}, le {french_date(self.sent)}",
            "",
            f"Objet : {self.subject}",
            f"Dossier n° {self.reference}",
            "",
            "Madame, Monsieur,",
            "",
            "Je vous prie de trouver ci-joint les pièces demandées pour le",
            f"dossier {self.reference}, au nom de la société {self.company}.",
            f"SIRET : {self.siret_shown}",
            f"IBAN : {self.iban}",
            f"Montant demandé : {french_amount(self.amount)}",
            f"Date de la demande : {self.sent:%d/%m/%Y}",
            "",
            "Je reste à votre disposition pour tout renseignement complémentaire.",
            "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations",
            "distinguées.",
            "",
            self.sender,
        ]

    def text(self) -> str:
        """The letter's text."""
        return "\n".join(self.lines())


def make_letter(number: int, rng: random.Random, fake: Faker, year: int = 2026) -> Letter:
    """The letter of dossier `number`; one in three senders has one of the accented names."""
    sender = rng.choice(ACCENTED_NAMES) if rng.random() < 0.35 else f"{fake.first_name()} {fake.last_name()}"
    return Letter(
        reference=f"DOS-{year}-{number:04d}",
        sender=sender,
        address=fake.street_address(),
        city=f"{fake.postcode()} {fake.city()}",
        company=fake.company(),
        siret=siret(rng),
        iban=french_iban(rng),
        sent=date(year, 1, 5) + timedelta(days=rng.randrange(300)),
        amount=Decimal(rng.randrange(5_000, 2_500_000)) / 100,
        subject=rng.choice(OBJECTS),
    )


@cache
def _noise(width: int, height: int) -> Any:
    """Sensor noise for a page of this size (and a margin to crop it at a random offset), made once."""
    import numpy

    generator = numpy.random.default_rng(width * height)
    return generator.normal(0, 8, (height + 64, width + 64)).astype(numpy.int16)


def scan(lines: list[str], rng: random.Random, *, dpi: int | None = None) -> Image:
    """An A4 page with `lines` printed on it, scanned: grey paper, noise, specks, a slight skew (±2°)."""
    import numpy
    from PIL import Image, ImageDraw, ImageFont

    dpi = dpi or rng.choice((200, 240, 300))
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(rng.choice((FONT, SERIF_FONT))), round(11 / 72 * dpi))
    margin, line_height = round(0.9 * dpi), round(11 / 72 * dpi * 1.45)
    ink = rng.randrange(0, 60)
    for index, line in enumerate(lines):
        draw.text((margin, margin + index * line_height), line, fill=ink, font=font)
    page = page.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BILINEAR, fillcolor=255)
    left, top = rng.randrange(64), rng.randrange(64)
    pixels = numpy.asarray(page, dtype=numpy.int16) - rng.randrange(0, 25)  # grey paper
    pixels += _noise(width, height)[top : top + height, left : left + width]
    count = width * height // 1500
    rows = [rng.randrange(height) for _ in range(count)]
    columns = [rng.randrange(width) for _ in range(count)]
    pixels[rows, columns] = [rng.randrange(0, 120) for _ in range(count)]  # specks of dust
    scanned = Image.fromarray(numpy.clip(pixels, 0, 255).astype(numpy.uint8), "L")
    scanned.info["dpi"] = (dpi, dpi)
    return scanned


def save_scan_pdf(pages: list[Image], path: Path) -> None:
    """Pages (images) packed into a PDF with no text layer, as a scanner's "scan to PDF" makes."""
    dpi = pages[0].info.get("dpi", (300, 300))[0]
    pages[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=pages[1:], quality=80)
