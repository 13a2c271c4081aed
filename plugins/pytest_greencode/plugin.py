"""pytest plugin entry point (registered through ``pytest11``); kept cheap to import."""
