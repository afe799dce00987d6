"""Lifecycle / state transition rules (LC001–LC012), checked by `check_state_transitions`."""
