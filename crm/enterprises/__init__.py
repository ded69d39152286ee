"""The enterprise registry: enterprises, contacts, credit codes, search, Excel import."""
