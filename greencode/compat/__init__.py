"""Drop-in APIs of other energy tools on greencode's meters (see ``docs/migrating-from-pyjoules.md``)."""
