complete -c revoke-lease -l prefix -d 'Revoke every live lease whose id starts with PREFIX (e.g. creds/tmpuser/)' -r
complete -c revoke-lease -s j -l jobs -d 'Revoke up to N leases at once' -r
complete -c revoke-lease -l config -d 'Config file [default: $XDG_CONFIG_HOME/vaultless/config.toml, then /etc/vaultless/config.toml]' -r -F
complete -c revoke-lease -l expired -d 'Revoke every active lease past its expiry and every interrupted mint'
complete -c revoke-lease -l dry-run -d 'Print what would be revoked, and change nothing'
complete -c revoke-lease -l hard -d 'For assumed_role leases: deny every session of the role issued before now, with an inline policy on the role (this cuts off other holders of the role too)'
complete -c revoke-lease -s v -l verbose -d 'Log what is being done on stderr (never secrets)'
complete -c revoke-lease -s h -l help -d 'Print help (see more with \'--help\')'
complete -c revoke-lease -s V -l version -d 'Print version'
