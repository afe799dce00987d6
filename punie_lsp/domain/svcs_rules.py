"""svcs / svcs-di / Hopscotch registration rules (SVC001–SVC015), for `validate_service_registration`."""
