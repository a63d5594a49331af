"""People who use dueprocess (staff and requesting officers), their roles, sign-in and tokens."""
