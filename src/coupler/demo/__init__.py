"""coupler.demo"""
