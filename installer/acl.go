package installer

// Well-known SIDs, so the ACL is right on a Windows whose group names are
// translated ("Administrateurs", "Administradores").
const (
	sidLocalSystem    = "*S-1-5-18"
	sidAdministrators = "*S-1-5-32-544"
)

// icaclsArgs are the arguments of icacls that leave path readable and
// writable by SYSTEM and Administrators only: inherited entries removed,
// explicit grants replaced, and for a folder inherited by what is created
// in it.
func icaclsArgs(path string, dir bool) []string {
	perm := ":F"
	if dir {
		perm = ":(OI)(CI)F"
	}
	return []string{path, "/inheritance:r", "/grant:r", sidLocalSystem + perm, sidAdministrators + perm}
}
