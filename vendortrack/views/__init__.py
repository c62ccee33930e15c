"""Blueprints, one module per area: auth, vendors, commitments, admin, api."""
