"""Incoming mail of a public service, for the mailbox-to-folder workflow: realistic messages in a test mailbox.

`courrier_entrant(numeros)` builds the messages (French letters as a text PDF, a .docx with a table, a scanned
letter made into an image PDF with noise and a slight skew, a mail without attachment, a letter whose reference is
unknown to the intranet, a hostile attachment name, two different documents under one name, a document sent
again) and says what the workflow must do with each. `deliver_courrier(account, numeros)` puts them into the
mailbox. The fixture `courrier` creates three cases in the mock intranet and delivers the mail for them.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import docx

from tests.robots.imap_server import ImapAccount
from tests.robots.test_files import pdf_with_text

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
UNKNOWN_REFERENCE = "DOS-2019-999999"


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, and the case it belongs to ("" when it must go to review)."""

    name: str
    content: bytes
    numero: str
    maintype: str = "application"
    subtype: str = "pdf"


@dataclass(frozen=True)
class IncomingMail:
    """A message of the mailbox and where the workflow must put it."""

    message_id: str
    subject: str
    sender: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    filed: bool = True  # "Classé" when every attachment has a known case; "À vérifier" otherwise

    def raw(self, sent: datetime) -> bytes:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = "Service urbanisme <urbanisme@mairie.test>"
        message["Subject"] = self.subject
        message["Date"] = format_datetime(sent)
        message["Message-ID"] = self.message_id
        message.set_content(self.body)
        for attachment in self.attachments:
            message.add_attachment(
                attachment.content,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.name,
            )
        return message.as_bytes()


def letter_lines(numero: str, name: str, subject: str) -> list[str]:
    """A short administrative letter about a case."""
    return [
        f"{name}",
        "12 rue des Lilas, 69003 Lyon",
        "",
        "Mairie de Lyon - Service urbanisme",
        f"Objet : {subject}",
        f"Référence : {numero}",
        "",
        "Madame, Monsieur,",
        f"Veuillez trouver ci-joint la pièce demandée pour le dossier {numero}.",
        "Je reste à votre disposition pour tout complément d'information.",
        "Veuillez agréer mes salutations distinguées.",
    ]


def docx_bytes(numero: str) -> bytes:
    """An employer's certificate whose reference is in a table cell."""
    document = docx.Document()
    document.add_heading("Attestation employeur", level=1)
    document.add_paragraph(
        "Nous certifions que Mme Élodie Lefèvre est employée à temps plein depuis le 3 mars 2021."
    )
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Dossier"
    table.cell(0, 1).text = numero
    table.cell(1, 0).text = "Fait à"
    table.cell(1, 1).text = "Villeurbanne, le 2 novembre 2026"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def scanned_pdf(lines: list[str], seed: int) -> bytes:
    """A letter as a scanner makes it: rendered text on an A4 page at 200 dpi, noise, a slight skew, image PDF."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = random.Random(seed)
    page = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 34)
    for number, line in enumerate(lines):
        draw.text((160, 220 + number * 62), line, fill=rng.randint(0, 50), font=font)
    noise = Image.effect_noise(page.size, 18).point(lambda value: 255 if value > 110 else 200)
    page = Image.composite(page, noise, page.point(lambda value: 255 if value < 200 else 0))
    page = page.rotate(rng.uniform(-1.5, 1.5), resample=Image.Resampling.BICUBIC, fillcolor=245, expand=False)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=200.0)
    return buffer.getvalue()


def courrier_entrant(numeros: list[str]) -> list[IncomingMail]:
    """The mailbox's messages for three existing cases, oldest first."""
    first, second, third = numeros
    rib = pdf_with_text(*letter_lines(first, "Élodie Lefèvre", "Relevé d'identité bancaire"))
    return [
        IncomingMail(
            "<20261102.0915.lefevre@example.fr>",
            f"Pièces pour le dossier {first}",
            "Élodie Lefèvre <elodie.lefevre@example.fr>",
            "Bonjour,\nvoici mon RIB et l'attestation de mon employeur.\nCordialement,\nÉlodie Lefèvre\n",
            [
                # A name that climbs out of the folder: saved as "RIB été.pdf" in the mail's folder.
                Attachment("../../../RIB été.pdf", rib, first),
                Attachment(
                    "Attestation {{ 7 * 7 }}.docx",  # template syntax in a name: a name, never rendered
                    docx_bytes(first),
                    first,
                    subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                ),
            ],
        ),
        IncomingMail(
            "<scan-0042@copieur.mairie.test>",
            "Numérisation du copieur",
            "Copieur accueil <copieur@mairie.test>",
            "Document numérisé le 02/11/2026 à 10:12.\n",
            [
                Attachment(
                    "scan_0042.pdf",
                    scanned_pdf(letter_lines(second, "Jean-Noël Dupré", "Justificatif de domicile"), 42),
                    second,
                )
            ],
        ),
        IncomingMail(
            "<question.1@example.fr>",
            "Question sur mon dossier",
            "Jean-Noël Dupré <jn.dupre@example.fr>",
            "Bonjour,\noù en est ma demande ?\nMerci.\n",
            filed=False,
        ),
        IncomingMail(
            "<inconnu.7@example.fr>",
            "Pièce complémentaire",
            "Société Bâtir <contact@batir.example>",
            "Veuillez trouver notre devis.\n",
            [
                Attachment(
                    "devis.pdf",
                    pdf_with_text(*letter_lines(UNKNOWN_REFERENCE, "Société Bâtir", "Devis")),
                    "",
                )
            ],
            filed=False,
        ),
        IncomingMail(
            "<20261103.1130.martin@example.fr>",
            "Documents (deux dossiers)",
            "Cabinet Martin <secretariat@cabinet-martin.example>",
            "Ci-joint les documents de nos deux clients.\n",
            [
                # One name, two different documents: both kept.
                Attachment(
                    "document.pdf", pdf_with_text(*letter_lines(second, "Cabinet Martin", "Bail")), second
                ),
                Attachment(
                    "document.pdf", pdf_with_text(*letter_lines(third, "Cabinet Martin", "Bail")), third
                ),
            ],
        ),
        IncomingMail(
            "<20261104.0800.lefevre@example.fr>",
            f"RE: Pièces pour le dossier {first}",
            "Élodie Lefèvre <elodie.lefevre@example.fr>",
            "Je vous renvoie mon RIB, au cas où.\n",
            [Attachment("RIB été.pdf", rib, first)],  # the same document again: filed and uploaded once
        ),
    ]


def deliver_courrier(account: ImapAccount, numeros: list[str]) -> list[IncomingMail]:
    """Put the messages into the account's INBOX; returns them."""
    mails = courrier_entrant(numeros)
    for day, mail in enumerate(mails, start=2):
        account.deliver(mail.raw(datetime(2026, 11, day, 9, 30, tzinfo=UTC)))
    return mails
