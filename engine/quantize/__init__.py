"""The quantizer: one definition of quantize (../shared/QUANTIZE_SPEC.md) used everywhere."""

from engine.quantize.settings import ENDS_MODES, GRID_TYPES, QuantizeSettings

__all__ = ["ENDS_MODES", "GRID_TYPES", "QuantizeSettings"]
