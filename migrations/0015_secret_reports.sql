-- Reports of leaked secrets find their client by the keyed hash.
create index clients_secret_hash on clients (secret_hash);
