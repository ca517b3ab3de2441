from django.contrib import admin

from .models import Dossier


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin[Dossier]):
    list_display = ("reference", "demandeur", "service", "urgent", "date_depot")
    search_fields = ("reference",)
