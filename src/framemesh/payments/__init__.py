"""Probabilistic micropayments: tickets signed by gateways, checked, kept and redeemed by orchestrators."""
