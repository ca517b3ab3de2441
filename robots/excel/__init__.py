"""The excel robot: read and write workbooks and CSV files."""

from robots.excel.excel import Excel

__all__ = [
    "Excel",
]
