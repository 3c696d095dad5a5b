"""Helpers shared by the tests: the throwaway database and builders."""
