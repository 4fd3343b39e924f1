"""Adapters for the CRM port: the embedded store and HubSpot."""
