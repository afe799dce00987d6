"""tdom component rules (TDOM001–TDOM016), checked by `validate_component`."""
