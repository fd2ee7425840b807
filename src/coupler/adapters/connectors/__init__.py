"""coupler.adapters.connectors"""
