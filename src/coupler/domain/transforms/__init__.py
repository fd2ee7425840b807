"""Transformations of a field's value on its way from source to target."""
