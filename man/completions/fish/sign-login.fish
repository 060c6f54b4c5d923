complete -c sign-login -l server-id -d 'Bind the proof to this server: adds a signed X-Vault-AWS-IAM-Server-ID header [default: [login] server_id of the config file, if any]' -r
complete -c sign-login -l role -d 'Login role to ask for (the verifier uses the principal\'s name when none is given)' -r
complete -c sign-login -l region -d 'Sign for the regional STS endpoint of REGION instead of the global one' -r
complete -c sign-login -l format -d 'Proof format: vault (Vault\'s login payload), eks (a Kubernetes ExecCredential, as `aws eks get-token` prints), akeyless (an Akeyless cloud_id)' -r -f -a "vault\t''
eks\t''
akeyless\t''"
complete -c sign-login -l cluster -d 'EKS cluster name to sign into the token\'s x-k8s-aws-id header (with --format eks) [default: the server ID]' -r
complete -c sign-login -l request -d 'Add KEY=VALUE to the proof\'s unsigned `request` object, which tells a broker what to fetch or mint (e.g. secret_id=ci/db, creds=deployer); repeatable' -r
complete -c sign-login -l config -d 'Config file [default: $XDG_CONFIG_HOME/vaultless/config.toml, then /etc/vaultless/config.toml]' -r -F
complete -c sign-login -s v -l verbose -d 'Log what is being done on stderr (never secrets)'
complete -c sign-login -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sign-login -s V -l version -d 'Print version'
