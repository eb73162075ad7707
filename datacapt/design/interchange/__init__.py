"""Designs in and out of Datacapt: REDCap data dictionaries and CDISC ODM study metadata, a
reader and a writer for each."""
