from __future__ import annotations

from datetime import date

from django.db import models

SERVICES = [("etat_civil", "État civil"), ("urbanisme", "Urbanisme"), ("social", "Action sociale")]


class Dossier(models.Model):
    reference: models.CharField[str, str] = models.CharField("Référence externe", max_length=40)
    # short on purpose: longer names are refused
    demandeur: models.CharField[str, str] = models.CharField("Demandeur", max_length=14)
    nom_usage: models.CharField[str, str] = models.CharField("Nom d’usage", max_length=60, blank=True)
    service: models.CharField[str, str] = models.CharField("Service", max_length=20, choices=SERVICES)
    urgent: models.BooleanField[bool, bool] = models.BooleanField("Urgent", default=False)
    date_depot: models.DateField[date, date] = models.DateField("Date de dépôt")
    commentaire: models.TextField[str, str] = models.TextField("Commentaire", blank=True)

    class Meta:
        verbose_name = "dossier"

    def __str__(self) -> str:
        return f"{self.reference} {self.demandeur}"
