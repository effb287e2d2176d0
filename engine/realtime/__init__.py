"""The real-time engine: transport, schedule, clock, live quantize and thru, recording."""
