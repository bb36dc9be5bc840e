"""Mailbox adapters (`toolkit.ports.mailbox`)."""
