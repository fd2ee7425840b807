"""coupler.services"""
