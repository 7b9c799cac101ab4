"""The upload client: `upload` keeps the licence, the spool and the signed uploads; `cli` its commands
(`activate`, `upload`, `records export|delete`, `analysis`)."""
