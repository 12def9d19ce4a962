DROP TABLE IF EXISTS rm_tenant_domains;
DROP TABLE IF EXISTS rm_tenants;
