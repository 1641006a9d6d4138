"""The core's own handlers, registered through entry points like any plugin."""
