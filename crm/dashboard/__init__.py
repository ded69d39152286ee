"""The home page: each role's overview (figures and charts come with the monthly metrics)."""
