"""Productions: the data package handed to a requesting authority (docs/productions.md)."""
