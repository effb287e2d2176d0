"""Factory grooves (quanta-groove JSON, package data), written by scripts/make_factory_grooves.py."""
