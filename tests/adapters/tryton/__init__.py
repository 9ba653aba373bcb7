"""Tests against a real trytond server on loopback."""
