"""The costmodel command line (installed as the `costmodel_cli` package). One module per
command: parse, call the library, render. No formulas here."""
