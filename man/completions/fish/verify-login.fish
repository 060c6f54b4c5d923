complete -c verify-login -s j -l jobs -d 'Verify up to N proofs at once' -r
complete -c verify-login -l config -d 'Config file [default: $XDG_CONFIG_HOME/vaultless/config.toml, then /etc/vaultless/config.toml]' -r -F
complete -c verify-login -s v -l verbose -d 'Log what is being done on stderr (never secrets)'
complete -c verify-login -s h -l help -d 'Print help (see more with \'--help\')'
complete -c verify-login -s V -l version -d 'Print version'
