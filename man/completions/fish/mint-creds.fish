complete -c mint-creds -l ttl -d 'How long the credentials live [default: the profile\'s default_ttl, else 15m, or 1h with --output credential-process]; capped by the profile\'s (and the login role\'s) max_ttl. STS types need at least 15m' -r
complete -c mint-creds -l output -d 'Output: json (the lease document), credential-process (only the credentials, as the AWS CLI and SDKs read them), env (export AWS_ACCESS_KEY_ID=... lines)' -r -f -a "json\t''
credential-process\t''
env\t''"
complete -c mint-creds -l role-arn -d 'assumed_role: which of the profile\'s role_arns to assume' -r
complete -c mint-creds -l mfa-code -d 'session_token: the current code of the profile\'s MFA device' -r
complete -c mint-creds -l identity -d 'Act for the verified caller(s) in this identity document (verify-login\'s output): - for stdin, or a file' -r
complete -c mint-creds -l config -d 'Config file [default: $XDG_CONFIG_HOME/vaultless/config.toml, then /etc/vaultless/config.toml]' -r -F
complete -c mint-creds -l no-cache -d 'With --output credential-process: mint a new lease, neither reusing a cached one nor caching this one'
complete -c mint-creds -l no-wait -d 'iam_user: hand the new key out at once, without waiting until AWS accepts it'
complete -c mint-creds -l exec -d 'Run the command after `--` with the result in its environment instead of printing it, and exit with the command\'s status'
complete -c mint-creds -l revoke-on-exit -d 'With --exec: revoke the lease when the command ends'
complete -c mint-creds -s v -l verbose -d 'Log what is being done on stderr (never secrets)'
complete -c mint-creds -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mint-creds -s V -l version -d 'Print version'
