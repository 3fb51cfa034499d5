package installer

// Well-known SIDs, so the ACL is right on a Windows whose group names are
// translated ("Administrateurs", "Administradores").
const (
	sidLocalSystem    = "*S-1-5-18"
	sidAdministrators = "*S-1-5-32-544"
)

// icaclsArgs are the arguments of icacls that leave path to SYSTEM and
// Administrators (full control) and the service's virtual account
// (WindowsAccount: modify when writes, else read), nobody else: inherited
// entries removed, explicit grants replaced, and for a folder inherited by
// what is created in it.
func icaclsArgs(path string, dir, writes bool) []string {
	inherit := ""
	if dir {
		inherit = "(OI)(CI)"
	}
	svc := "RX"
	if writes {
		svc = "M"
	}
	return []string{path, "/inheritance:r", "/grant:r",
		sidLocalSystem + ":" + inherit + "F",
		sidAdministrators + ":" + inherit + "F",
		"*" + serviceSID(Name) + ":" + inherit + svc}
}
