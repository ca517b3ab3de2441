from typing import ClassVar

from django.contrib import admin

from .models import Dossier


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin):
    list_display: ClassVar = ["reference", "demandeur", "service", "urgent", "date_depot"]
    search_fields: ClassVar = ["reference"]
