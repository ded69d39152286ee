"""The audit log: who changed what, when and from where. Written by operations, never by views."""
