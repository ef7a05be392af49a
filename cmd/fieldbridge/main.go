// Command fieldbridge moves field-service data between OZmap, Sytex,
// OfficeTrack, Fortics, file drops and FTP servers.
package main

import "fmt"

func main() { fmt.Println("fieldbridge: under construction") }
