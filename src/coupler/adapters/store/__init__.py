"""coupler.adapters.store"""
