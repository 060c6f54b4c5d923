complete -c fetch-secret -l version-id -d 'Read this version instead of the current one' -r
complete -c fetch-secret -l version-stage -d 'Read the version with this staging label [default: AWSCURRENT]' -r
complete -c fetch-secret -l field -d 'Print one field of a JSON secret (nested: a.b); strings as they are' -r
complete -c fetch-secret -l output -d 'Output: json (the secret document), raw (the value exactly), env (`export KEY=\'value\'` lines), dotenv (KEY=value lines)' -r -f -a "json\t''
raw\t''
env\t''
dotenv\t''"
complete -c fetch-secret -l env-prefix -d 'Prefix for variable names made from a JSON secret\'s keys (env, dotenv, --exec)' -r
complete -c fetch-secret -l env -d 'Variable name for a plain-string secret (env, dotenv, --exec)' -r
complete -c fetch-secret -l region -d 'AWS region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile\'s region]' -r
complete -c fetch-secret -l identity -d 'Act for the verified caller(s) in this identity document (verify-login\'s output): - for stdin, or a file' -r
complete -c fetch-secret -l config -d 'Config file [default: $XDG_CONFIG_HOME/vaultless/config.toml, then /etc/vaultless/config.toml]' -r -F
complete -c fetch-secret -l exec -d 'Run the command after `--` with the result in its environment instead of printing it, and exit with the command\'s status'
complete -c fetch-secret -s v -l verbose -d 'Log what is being done on stderr (never secrets)'
complete -c fetch-secret -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fetch-secret -s V -l version -d 'Print version'
