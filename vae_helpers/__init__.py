"""Helpers for the vae-course notebooks."""
