"""The demo CRM: tables named like Dataverse, and its rows derived from the ERP's."""
