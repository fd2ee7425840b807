"""coupler.entrypoints"""
